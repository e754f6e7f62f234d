package rewrite

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// IsDockerfile reports whether a file name is one that Discover collects:
// Dockerfile, Dockerfile.*, *.Dockerfile, *.dockerfile and Containerfile.
func IsDockerfile(name string) bool {
	switch {
	case name == "Dockerfile", name == "Containerfile":
		return true
	case strings.HasPrefix(name, "Dockerfile."), strings.HasPrefix(name, "Containerfile."):
		return true
	case strings.HasSuffix(name, ".Dockerfile"), strings.HasSuffix(name, ".dockerfile"):
		return true
	}
	return false
}

// skipDirs are never searched: they hold other people's Dockerfiles.
var skipDirs = map[string]bool{".git": true, "vendor": true, "node_modules": true}

// Discover expands paths into Dockerfiles and compose files (IsComposeFile):
// a directory is searched recursively, a file is taken as it is and "-"
// (standard input) is kept.
// The result is sorted within each directory and has no duplicates. A path
// that cannot be read is kept, so that reading it reports why.
func Discover(paths []string) ([]string, error) {
	return DiscoverIgnoring(paths, nil)
}

// DiscoverIgnoring is Discover, skipping in directory searches the files
// and directories ig matches. A file named in paths is always taken.
func DiscoverIgnoring(paths []string, ig *Ignore) ([]string, error) {
	var out []string
	for _, p := range paths {
		if p == "-" {
			out = append(out, p)
			continue
		}
		info, err := os.Stat(p)
		if err != nil || !info.IsDir() {
			// Reading it reports the problem for this path alone.
			out = append(out, p)
			continue
		}
		root := p
		if li, err := os.Lstat(p); err == nil && li.Mode()&fs.ModeSymlink != 0 {
			// A named link to a directory is walked; the files found are
			// still read only inside their tree.
			root = p + string(filepath.Separator)
		}
		err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if path != root && (skipDirs[d.Name()] || ig.Match(path, true)) {
					return filepath.SkipDir
				}
				return nil
			}
			// Links and special files are kept too: reading a link follows
			// it (or says why not), and reading a FIFO or a device says it
			// is not a regular file, so no Dockerfile is skipped silently.
			// Links to directories are not descended, as with find and git.
			if (IsDockerfile(d.Name()) || IsComposeFile(d.Name())) && !ig.Match(path, false) {
				out = append(out, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	seen := map[string]bool{}
	out = slices.DeleteFunc(out, func(p string) bool {
		if seen[p] {
			return true
		}
		seen[p] = true
		return false
	})
	return dropLinkedTwice(out), nil
}

// dropLinkedTwice drops a symbolic link whose target is also in files
// (itself or through another link), so that one file is rewritten and
// reported once.
func dropLinkedTwice(files []string) []string {
	links := 0
	for _, f := range files {
		if fi, err := os.Lstat(f); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			links++
		}
	}
	if links == 0 {
		return files
	}
	type entry struct {
		info fs.FileInfo
		link bool
	}
	entries := make([]entry, len(files))
	for i, f := range files {
		if li, err := os.Lstat(f); err == nil {
			entries[i].link = li.Mode()&fs.ModeSymlink != 0
		}
		entries[i].info, _ = os.Stat(f)
	}
	keep := files[:0:0]
	for i, f := range files {
		e := entries[i]
		dup := false
		if e.link && e.info != nil {
			for j, o := range entries {
				// Another entry names the same file: a plain one always
				// wins, and among links the first does.
				if j != i && o.info != nil && os.SameFile(e.info, o.info) && (!o.link || j < i) {
					dup = true
					break
				}
			}
		}
		if !dup {
			keep = append(keep, f)
		}
	}
	return keep
}

// MaxSize is the largest Dockerfile or compose file ReadFile reads: far above any real one,
// small enough that a stray large file costs a clear error, not the
// machine's memory.
const MaxSize = 16 << 20

// Errors of reading and writing files, matched with errors.Is.
var (
	// ErrOutsideTree: a symbolic link leads out of the tree being
	// processed; the file it names is neither read nor written.
	ErrOutsideTree = errors.New("symbolic link out of the tree, not followed")
	// ErrNotRegular: a FIFO, a device, a socket or a directory where a
	// Dockerfile was expected.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge: the file is larger than MaxSize.
	ErrTooLarge = errors.New("file too large")
	// ErrReadOnly: WriteFile refuses a file without write permission unless
	// forced.
	ErrReadOnly = errors.New("read-only file: not written (--force writes it)")
	// ErrHardLinked: WriteFile refuses a file with more than one hard link,
	// since replacing it would split the links.
	ErrHardLinked = errors.New("hard-linked file: not written, replacing it would split the links")
	// ErrOwner: WriteFile could not give the new file the old one's owner
	// and group.
	ErrOwner = errors.New("cannot keep the file's owner: not written")
)

// Tree returns the directory tree a Dockerfile belongs to, with symbolic
// links resolved: the git work tree that holds it (the nearest directory
// above it with a .git entry); outside git, the working directory if the
// file is under it, else the directory that holds the file. A link that
// resolves outside this tree is never followed.
func Tree(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	dir := filepath.Dir(abs)
	wd, _ := os.Getwd()
	key := wd + "\x00" + dir
	if t, ok := trees.Load(key); ok {
		return t.(string), nil
	}
	tree := ""
	for d := dir; ; {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			tree = d
			break
		}
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	if tree == "" {
		tree = dir
		if wd != "" && within(wd, dir) {
			tree = wd
		}
	}
	real, err := filepath.EvalSymlinks(tree)
	if err != nil {
		return "", err
	}
	trees.Store(key, real)
	return real, nil
}

// trees caches Tree by working directory and directory: a walk asks once
// per directory.
var trees sync.Map

// within reports whether path is dir or lies under it; both are clean
// absolute paths.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// located is a file resolved inside its tree.
type located struct {
	tree string // the tree, links resolved
	rel  string // the file's path in tree, links resolved
}

// locate resolves path's links and checks that the file they lead to lies
// in path's tree.
func locate(path string) (located, error) {
	tree, err := Tree(path)
	if err != nil {
		return located{}, err
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		if li, lerr := os.Lstat(path); lerr == nil && li.Mode()&fs.ModeSymlink != 0 && errors.Is(err, fs.ErrNotExist) {
			return located{}, errors.New("symbolic link to a file that does not exist")
		}
		return located{}, err
	}
	if real, err = filepath.Abs(real); err != nil {
		return located{}, err
	}
	if !within(tree, real) {
		return located{}, fmt.Errorf("%w: it leads to %s, outside %s", ErrOutsideTree, real, tree)
	}
	rel, err := filepath.Rel(tree, real)
	return located{tree, rel}, err
}

// ReadFile reads a Dockerfile. It follows symbolic links that stay inside
// the file's Tree and refuses the others, reads only regular files (a FIFO
// is never waited on, a device never read), and refuses files larger than
// MaxSize. Memory is the file's size plus a byte. Errors are *Error.
func ReadFile(path string) ([]byte, error) {
	data, err := readFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &Error{File: path, Err: err}
	}
	return data, nil
}

func readFile(path string) ([]byte, error) {
	loc, err := locate(path)
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(loc.tree)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	// Stat first, so that a device is never opened; the open does not
	// block on a FIFO that takes its place meanwhile, and the check is
	// repeated on what was opened.
	info, err := root.Lstat(loc.rel)
	if err != nil {
		return nil, err
	}
	if err := regular(info); err != nil {
		return nil, err
	}
	f, err := root.OpenFile(loc.rel, os.O_RDONLY|openNonblock, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if info, err = f.Stat(); err != nil {
		return nil, err
	}
	if err := regular(info); err != nil {
		return nil, err
	}
	if info.Size() > MaxSize {
		return nil, tooLarge(info.Size())
	}
	// One read past the size sees a file that grew meanwhile.
	data := make([]byte, 0, info.Size()+1)
	for {
		n, err := f.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if err == io.EOF {
			return data, nil
		}
		if err != nil {
			return nil, err
		}
		if len(data) > MaxSize {
			return nil, tooLarge(int64(len(data)))
		}
		if len(data) == cap(data) {
			data = slices.Grow(data, min(len(data), MaxSize+1-len(data)))
		}
	}
}

// OpenRegular opens a file for reading if it is a regular file, without
// waiting on a FIFO or opening a device; others get ErrNotRegular.
func OpenRegular(name string) (*os.File, error) {
	if info, err := os.Stat(name); err != nil {
		return nil, err
	} else if err := regular(info); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(name, os.O_RDONLY|openNonblock, 0)
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err == nil {
		err = regular(info)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// ReadAll reads a Dockerfile from r (standard input), up to MaxSize.
func ReadAll(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err == nil && len(data) > MaxSize {
		return nil, tooLarge(int64(len(data)))
	}
	return data, err
}

func tooLarge(size int64) error {
	if size > MaxSize {
		return fmt.Errorf("%w: over %d MiB", ErrTooLarge, MaxSize>>20)
	}
	return nil
}

// regular refuses anything but a regular file, naming what it is.
func regular(info fs.FileInfo) error {
	m := info.Mode()
	var what string
	switch {
	case m.IsRegular():
		return nil
	case m.IsDir():
		what = "a directory"
	case m&fs.ModeNamedPipe != 0:
		what = "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		what = "a socket"
	case m&fs.ModeDevice != 0:
		what = "a device"
	case m&fs.ModeSymlink != 0:
		what = "a symbolic link"
	default:
		what = "a special file"
	}
	return fmt.Errorf("%s, %w", what, ErrNotRegular)
}

// WriteOption configures WriteFile.
type WriteOption func(*writeOptions)

type writeOptions struct {
	force    bool
	original []byte
}

// WithForce writes read-only files too.
func WithForce(force bool) WriteOption {
	return func(o *writeOptions) { o.force = force }
}

// WithOriginal gives the bytes the new text was made from: if the file no
// longer holds them (an editor saved it meanwhile), nothing is written.
func WithOriginal(data []byte) WriteOption {
	return func(o *writeOptions) { o.original = data }
}

// ErrChanged: the file changed between reading and writing.
var ErrChanged = errors.New("changed since it was read: not written, run again")

// WriteFile replaces a Dockerfile with data the way a careful editor does:
//   - atomically: the bytes go to a temporary file beside it, synced, then
//     renamed over it, so a reader sees the old file or the new one and a
//     failure or a kill leaves the old one untouched;
//   - with WithOriginal, not over a newer edit: the file is read again
//     just before the rename and must still hold the original bytes;
//   - a symbolic link stays a link: the file it leads to is written, and
//     only if it lies in the link's Tree;
//   - the mode (with setuid, setgid and sticky bits), owner and group are
//     kept; if the owner cannot be kept (not root), nothing is written;
//   - a read-only file is refused unless WithForce(true);
//   - a file with several hard links is refused: a rename would split them;
//   - the temporary file is named .ecrbase-PID-NAME-RANDOM.tmp, which
//     Discover never matches; it is removed on error, SIGINT or SIGTERM, and
//     one left by a killed process is removed by the next WriteFile in that
//     directory.
//
// Extended attributes and ACLs are not copied. Errors are *Error.
func WriteFile(path string, data []byte, opts ...WriteOption) error {
	var o writeOptions
	for _, opt := range opts {
		opt(&o)
	}
	if err := writeFile(path, data, o); err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return &Error{File: path, Err: err}
	}
	return nil
}

func writeFile(path string, data []byte, o writeOptions) (err error) {
	loc, err := locate(path)
	if err != nil {
		return err
	}
	root, err := os.OpenRoot(loc.tree)
	if err != nil {
		return err
	}
	defer root.Close()
	info, err := root.Lstat(loc.rel)
	if err != nil {
		return err
	}
	if err := regular(info); err != nil {
		return err
	}
	own := ownerOf(info)
	if own.links > 1 {
		return fmt.Errorf("%w (%d links)", ErrHardLinked, own.links)
	}
	if !o.force && (info.Mode().Perm()&0o222 == 0 || !writable(filepath.Join(loc.tree, loc.rel))) {
		return fmt.Errorf("%w (mode %04o)", ErrReadOnly, info.Mode().Perm())
	}
	dir, base := filepath.Dir(loc.rel), filepath.Base(loc.rel)
	removeStale(root, dir)
	tmp, tmpRel, err := createTemp(root, loc.tree, dir, base)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			root.Remove(tmpRel)
		}
		untrack(filepath.Join(loc.tree, tmpRel))
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = keepOwner(tmp, own); err != nil {
		return fmt.Errorf("%w: %v", ErrOwner, err)
	}
	// After the chown, which clears setuid and setgid bits.
	if err = tmp.Chmod(info.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if testHookBeforeRename != nil {
		testHookBeforeRename(filepath.Join(loc.tree, tmpRel))
	}
	if o.original != nil {
		var now []byte
		if now, err = readFile(filepath.Join(loc.tree, loc.rel)); err != nil {
			return err
		}
		if !bytes.Equal(now, o.original) {
			err = ErrChanged
			return err
		}
	}
	if err = root.Rename(tmpRel, loc.rel); err != nil {
		return err
	}
	// The rename is durable once the directory is synced.
	if d, err := root.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// testHookBeforeRename lets tests stop a write with its temporary file in
// place.
var testHookBeforeRename func(tmp string)

const tempPrefix = ".ecrbase-"

// createTemp creates a temporary file beside base and registers it for
// removal on SIGINT or SIGTERM, in one step, so that no signal can leave
// one behind.
func createTemp(root *os.Root, tree, dir, base string) (*os.File, string, error) {
	onSignal(removeTemps)
	temps.Lock()
	defer temps.Unlock()
	if temps.interrupted {
		return nil, "", ErrInterrupted
	}
	for range 100 {
		name := filepath.Join(dir, fmt.Sprintf("%s%d-%s-%08x.tmp", tempPrefix, os.Getpid(), base, rand.Uint32()))
		f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err == nil {
			if temps.m == nil {
				temps.m = map[string]bool{}
			}
			temps.m[filepath.Join(tree, name)] = true
		}
		return f, name, err
	}
	return nil, "", errors.New("no free temporary file name")
}

// removeStale removes temporary files in dir left by ecrbase processes that
// no longer run (killed mid-write). A file of a live process is left alone.
func removeStale(root *os.Root, dir string) {
	d, err := root.Open(dir)
	if err != nil {
		return
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	for _, name := range names {
		rest, ok := strings.CutPrefix(name, tempPrefix)
		if !ok || !strings.HasSuffix(name, ".tmp") {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		if pid, err := strconv.Atoi(pidText); err == nil && pid > 0 && pid != os.Getpid() && !processExists(pid) {
			root.Remove(filepath.Join(dir, name))
		}
	}
}

// temps are the temporary files being written, removed if the process is
// interrupted; once it is, no write starts.
var temps struct {
	sync.Mutex
	m           map[string]bool
	interrupted bool
}

// ErrInterrupted: SIGINT or SIGTERM arrived; no write starts after it.
var ErrInterrupted = errors.New("interrupted: not written")

// removeTemps runs on SIGINT or SIGTERM.
func removeTemps() {
	temps.Lock()
	defer temps.Unlock()
	temps.interrupted = true
	for n := range temps.m {
		os.Remove(n)
	}
}

func untrack(name string) {
	temps.Lock()
	delete(temps.m, name)
	temps.Unlock()
}

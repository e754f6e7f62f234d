package rewrite

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// repo makes a git work tree (a .git directory is enough for Tree) with
// files, and returns its path with links resolved.
func repo(t *testing.T, files map[string]string) string {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWriteFileFollowsLinks(t *testing.T) {
	dir := repo(t, nil)
	target := filepath.Join(dir, "real.Dockerfile")
	link := filepath.Join(dir, "Dockerfile")
	if err := os.WriteFile(target, []byte("FROM python:3.7\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	symlink(t, "real.Dockerfile", link)
	if err := WriteFile(link, []byte("FROM x\n")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("Dockerfile is no longer a link: %v %v", fi.Mode(), err)
	}
	got, _ := os.ReadFile(target)
	fi, _ := os.Stat(target)
	if string(got) != "FROM x\n" || fi.Mode().Perm() != 0o600 {
		t.Errorf("target = %q, mode %v; want the new text, mode 0600", got, fi.Mode().Perm())
	}
}

// TestLinkOutOfTree: a link that leads out of the git work tree is neither
// read nor written, whether named or found by a walk; the file it leads to
// is untouched.
func TestLinkOutOfTree(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "credentials")
	const content = "https://user:ghp_0123456789abcdefghijklmnopqrstuvwxyz@github.com\n"
	if err := os.WriteFile(secret, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := repo(t, map[string]string{"svc/keep.txt": ""})
	symlink(t, secret, filepath.Join(dir, "svc", "Dockerfile"))
	symlink(t, "/etc/passwd", filepath.Join(dir, "Dockerfile.passwd"))
	// A link through a directory link that leaves the tree.
	symlink(t, outside, filepath.Join(dir, "out"))
	if err := os.WriteFile(filepath.Join(outside, "Dockerfile"), []byte("FROM alpine\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	found, err := Discover([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "Dockerfile.passwd"), filepath.Join(dir, "svc", "Dockerfile")}
	if strings.Join(found, " ") != strings.Join(want, " ") {
		t.Errorf("Discover = %q, want the links %q (a walk does not skip them)", found, want)
	}
	for _, name := range append(want, filepath.Join(dir, "out", "Dockerfile")) {
		data, err := ReadFile(name)
		if !errors.Is(err, ErrOutsideTree) || data != nil {
			t.Errorf("ReadFile(%s) = %q, %v; want ErrOutsideTree", name, data, err)
		}
		if err != nil && (strings.Contains(err.Error(), "ghp_") || strings.Contains(err.Error(), "root:")) {
			t.Errorf("ReadFile(%s) error quotes the file: %v", name, err)
		}
		if err := WriteFile(name, []byte("FROM x\n"), WithForce(true)); !errors.Is(err, ErrOutsideTree) {
			t.Errorf("WriteFile(%s) = %v, want ErrOutsideTree", name, err)
		}
	}
	if got := readString(t, secret); got != content {
		t.Errorf("the file outside the tree changed: %q", got)
	}
	if got := readString(t, filepath.Join(outside, "Dockerfile")); got != "FROM alpine\n" {
		t.Errorf("the Dockerfile outside the tree changed: %q", got)
	}
}

// TestLinkInTree: links that stay in the git work tree are followed, from
// another directory too; a walk finds them and lists a file reached both
// directly and through a link once.
func TestLinkInTree(t *testing.T) {
	dir := repo(t, map[string]string{
		"shared/Dockerfile": "FROM python:3.7\n",
		"api/main.go":       "package main\n",
		"web/Dockerfile":    "FROM node:20\n",
	})
	symlink(t, "../shared/Dockerfile", filepath.Join(dir, "api", "Dockerfile"))
	symlink(t, "Dockerfile", filepath.Join(dir, "web", "Dockerfile.prod"))

	found, err := Discover([]string{filepath.Join(dir, "api"), filepath.Join(dir, "web")})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "api", "Dockerfile"), filepath.Join(dir, "web", "Dockerfile")}
	if strings.Join(found, " ") != strings.Join(want, " ") {
		t.Errorf("Discover = %q, want %q", found, want)
	}
	data, err := ReadFile(filepath.Join(dir, "api", "Dockerfile"))
	if err != nil || string(data) != "FROM python:3.7\n" {
		t.Fatalf("ReadFile(api/Dockerfile) = %q, %v", data, err)
	}
	if err := WriteFile(filepath.Join(dir, "api", "Dockerfile"), []byte("FROM x\n")); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, filepath.Join(dir, "shared", "Dockerfile")); got != "FROM x\n" {
		t.Errorf("shared/Dockerfile = %q, want it written through the link", got)
	}
}

// TestTree: a git work tree bounds its files; outside git the working
// directory does, or the file's own directory when it lies elsewhere.
func TestTree(t *testing.T) {
	dir := repo(t, map[string]string{"a/b/Dockerfile": ""})
	if got, err := Tree(filepath.Join(dir, "a", "b", "Dockerfile")); err != nil || got != dir {
		t.Errorf("Tree in a repository = %q, %v; want %q", got, err, dir)
	}
	plain, _ := filepath.EvalSymlinks(t.TempDir())
	other, _ := filepath.EvalSymlinks(t.TempDir())
	t.Chdir(plain)
	if got, err := Tree("x/Dockerfile"); err != nil || got != plain {
		t.Errorf("Tree under the working directory = %q, %v; want %q", got, err, plain)
	}
	if got, err := Tree(filepath.Join(other, "Dockerfile")); err != nil || got != other {
		t.Errorf("Tree elsewhere = %q, %v; want %q", got, err, other)
	}
}

// TestSpecialFiles: a FIFO, devices and a socket get one error line at
// once; none is waited on or read. The bound is loose: a FIFO read used to
// block forever.
func TestSpecialFiles(t *testing.T) {
	dir := repo(t, nil)
	fifo := filepath.Join(dir, "Dockerfile.fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "Dockerfile.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	paths := map[string]string{fifo: "a named pipe (FIFO), not a regular file", sock: "a socket, not a regular file",
		"/dev/zero": "a device, not a regular file", dir: "a directory, not a regular file"}
	if os.Geteuid() == 0 {
		// A device node inside the tree, the same device as /dev/zero.
		dev := filepath.Join(dir, "Dockerfile.zero")
		if err := syscall.Mknod(dev, syscall.S_IFCHR|0o644, 1<<8|5); err != nil {
			t.Fatal(err)
		}
		paths[dev] = "a device, not a regular file"
	}
	for p, want := range paths {
		done := make(chan error, 1)
		go func() {
			_, err := ReadFile(p)
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, ErrNotRegular) || err.Error() != p+": "+want {
				t.Errorf("ReadFile(%s) = %v, want %q", p, err, p+": "+want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("ReadFile(%s) still blocked after 10s", p)
		}
	}
	found, err := Discover([]string{dir})
	if err != nil || len(found) < 2 {
		t.Errorf("Discover = %q, %v; want the FIFO and the socket listed, so reading reports them", found, err)
	}
}

// TestSizeLimit: a file or standard input over MaxSize is refused without
// being read whole.
func TestSizeLimit(t *testing.T) {
	dir := repo(t, nil)
	big := filepath.Join(dir, "Dockerfile")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxSize + 1); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	f.Close()
	if _, err := ReadFile(big); !errors.Is(err, ErrTooLarge) || err.Error() != big+": file too large: over 16 MiB" {
		t.Errorf("ReadFile(%d bytes) = %v, want ErrTooLarge", MaxSize+1, err)
	}
	if err := os.Truncate(big, MaxSize); err != nil {
		t.Fatal(err)
	}
	if data, err := ReadFile(big); err != nil || len(data) != MaxSize || cap(data) > MaxSize+1 {
		t.Errorf("ReadFile(%d bytes) = %d bytes (cap %d), %v; want it read in one buffer", MaxSize, len(data), cap(data), err)
	}
	zero, err := os.Open("/dev/zero")
	if err != nil {
		t.Fatal(err)
	}
	defer zero.Close()
	if _, err := ReadAll(zero); !errors.Is(err, ErrTooLarge) {
		t.Errorf("ReadAll(/dev/zero) = %v, want ErrTooLarge", err)
	}
}

func stat(t *testing.T, path string) *syscall.Stat_t {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return &st
}

// TestWriteKeepsOwner: run as root, -w keeps another user's ownership and
// the mode, setgid bit included.
func TestWriteKeepsOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI runs the tests as root; this one needs it")
		}
		t.Skip("needs root to chown")
	}
	dir := repo(t, map[string]string{"Dockerfile": "FROM python:3.7\n"})
	p := filepath.Join(dir, "Dockerfile")
	if err := os.Chown(p, 4321, 8765); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o640|os.ModeSetgid); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("FROM x\n")); err != nil {
		t.Fatal(err)
	}
	st := stat(t, p)
	if st.Uid != 4321 || st.Gid != 8765 || st.Mode&0o7777 != 0o2640 {
		t.Errorf("after WriteFile: uid %d gid %d mode %04o; want 4321 8765 2640", st.Uid, st.Gid, st.Mode&0o7777)
	}
	if got := readString(t, p); got != "FROM x\n" {
		t.Errorf("content = %q", got)
	}
}

// TestWriteReadOnly: a file without write permission is refused unless
// forced, and forcing keeps it read-only.
func TestWriteReadOnly(t *testing.T) {
	dir := repo(t, map[string]string{"Dockerfile": "FROM python:3.7\n"})
	p := filepath.Join(dir, "Dockerfile")
	if err := os.Chmod(p, 0o444); err != nil {
		t.Fatal(err)
	}
	err := WriteFile(p, []byte("FROM x\n"))
	if !errors.Is(err, ErrReadOnly) || err.Error() != p+": read-only file: not written (--force writes it) (mode 0444)" {
		t.Errorf("WriteFile(0444) = %v, want ErrReadOnly", err)
	}
	if got := readString(t, p); got != "FROM python:3.7\n" {
		t.Errorf("refused file changed: %q", got)
	}
	if err := WriteFile(p, []byte("FROM x\n"), WithForce(true)); err != nil {
		t.Fatal(err)
	}
	if got, mode := readString(t, p), stat(t, p).Mode&0o777; got != "FROM x\n" || mode != 0o444 {
		t.Errorf("forced write: %q mode %04o; want the new text, mode 0444", got, mode)
	}
}

// TestWriteHardLink: a file with two names is refused, both unchanged and
// still one file.
func TestWriteHardLink(t *testing.T) {
	dir := repo(t, map[string]string{"Dockerfile": "FROM python:3.7\n"})
	p, q := filepath.Join(dir, "Dockerfile"), filepath.Join(dir, "other")
	if err := os.Link(p, q); err != nil {
		t.Fatal(err)
	}
	err := WriteFile(p, []byte("FROM x\n"), WithForce(true))
	if !errors.Is(err, ErrHardLinked) || !strings.HasSuffix(err.Error(), "(2 links)") {
		t.Errorf("WriteFile(hard link) = %v, want ErrHardLinked", err)
	}
	if st := stat(t, p); st.Nlink != 2 || readString(t, q) != "FROM python:3.7\n" {
		t.Errorf("after refusal: nlink %d, other = %q", st.Nlink, readString(t, q))
	}
}

// TestWriteHelper is not a test: TestWriteInterrupted runs it in a child
// process, which stops before the rename with its temporary file written.
func TestWriteHelper(t *testing.T) {
	path := os.Getenv("ECRBASE_WRITE_HELPER")
	if path == "" {
		t.Skip("run by TestWriteInterrupted")
	}
	testHookBeforeRename = func(tmp string) {
		os.Stdout.WriteString("ready " + tmp + "\n")
		time.Sleep(time.Minute)
	}
	WriteFile(path, []byte("FROM x\n"))
	os.Exit(0)
}

// TestWriteInterrupted: SIGINT or SIGTERM mid-write removes the temporary
// file and ends the process by that signal, the Dockerfile untouched. A
// SIGKILL leaves it, but Discover never lists it and the next write in the
// directory removes it.
func TestWriteInterrupted(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := repo(t, map[string]string{"Dockerfile": "FROM python:3.7\n"})
			p := filepath.Join(dir, "Dockerfile")
			cmd := exec.Command(os.Args[0], "-test.run=^TestWriteHelper$")
			cmd.Env = append(os.Environ(), "ECRBASE_WRITE_HELPER="+p)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(out).ReadString('\n')
			tmp, ok := strings.CutPrefix(strings.TrimSpace(line), "ready ")
			if err != nil || !ok {
				cmd.Process.Kill()
				t.Fatalf("helper said %q, %v", line, err)
			}
			if _, err := os.Stat(tmp); err != nil {
				t.Fatalf("temporary file: %v", err)
			}
			cmd.Process.Signal(sig)
			go io.Copy(io.Discard, out)
			err = cmd.Wait()
			ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if !ws.Signaled() || ws.Signal() != sig {
				t.Errorf("helper ended with %v (%v), want killed by %v", cmd.ProcessState, err, sig)
			}
			if got := readString(t, p); got != "FROM python:3.7\n" {
				t.Errorf("Dockerfile = %q, want it untouched", got)
			}
			_, err = os.Stat(tmp)
			if sig != syscall.SIGKILL {
				if !errors.Is(err, os.ErrNotExist) {
					t.Errorf("temporary file %s still there after %v", tmp, sig)
				}
				return
			}
			if err != nil {
				t.Fatalf("after SIGKILL the temporary file should remain: %v", err)
			}
			if found, _ := Discover([]string{dir}); len(found) != 1 || found[0] != p {
				t.Errorf("Discover = %q, want only the Dockerfile, not %s", found, filepath.Base(tmp))
			}
			if err := WriteFile(p, []byte("FROM x\n")); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("stale temporary file %s not removed by the next write", tmp)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 2 {
				t.Errorf("directory holds %d entries after the write, want .git and Dockerfile", len(entries))
			}
		})
	}
}

// TestParseErrorExcerpt: a parse error on a file that is not a Dockerfile
// quotes a short excerpt, never the line.
func TestParseErrorExcerpt(t *testing.T) {
	line := "root:x:0:0:root:/root:/bin/bash"
	_, err := File("passwd", []byte(line+"\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"), Options{})
	if err == nil || strings.Contains(err.Error(), line) || !strings.HasPrefix(err.Error(), "passwd:1: unknown instruction: root:x:0:0:root:") {
		t.Errorf("File(passwd) = %v, want a short excerpt of line 1", err)
	}
	long := "FROM alpine\nRUN true\n" + strings.Repeat("x", 500) + " y\n"
	if _, err := File("Dockerfile", []byte(long), Options{}); err == nil || len(err.Error()) > 200 || bytes.Contains([]byte(err.Error()), bytes.Repeat([]byte("x"), 17)) {
		t.Errorf("File(long line) = %v, want a short message", err)
	}
}

func TestReadFileBrokenLink(t *testing.T) {
	dir := repo(t, nil)
	symlink(t, "missing", filepath.Join(dir, "Dockerfile"))
	symlink(t, ".", filepath.Join(dir, "Dockerfile.dir"))
	for name, want := range map[string]string{
		"Dockerfile":     "symbolic link to a file that does not exist",
		"Dockerfile.dir": "a directory, not a regular file",
	} {
		p := filepath.Join(dir, name)
		if _, err := ReadFile(p); err == nil || err.Error() != p+": "+want {
			t.Errorf("ReadFile(%s) = %v, want %q", name, err, want)
		}
	}
}

// TestWriteChanged: a file saved by someone else between reading and
// writing is left with their text.
func TestWriteChanged(t *testing.T) {
	dir := repo(t, map[string]string{"Dockerfile": "FROM python:3.7\n"})
	p := filepath.Join(dir, "Dockerfile")
	if err := os.WriteFile(p, []byte("FROM python:3.8\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := WriteFile(p, []byte("FROM x\n"), WithOriginal([]byte("FROM python:3.7\n")))
	if !errors.Is(err, ErrChanged) || readString(t, p) != "FROM python:3.8\n" {
		t.Errorf("WriteFile(changed) = %v, file %q; want ErrChanged and the new text kept", err, readString(t, p))
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("%d entries left in the directory, want .git and Dockerfile", len(entries))
	}
	if err := WriteFile(p, []byte("FROM x\n"), WithOriginal([]byte("FROM python:3.8\n"))); err != nil || readString(t, p) != "FROM x\n" {
		t.Errorf("WriteFile(unchanged) = %v", err)
	}
}

// TestTempNames: the temporary file of every name Discover collects is one
// it never collects.
func TestTempNames(t *testing.T) {
	dir := repo(t, nil)
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	for _, base := range []string{"Dockerfile", "Dockerfile.prod", "api.Dockerfile", "web.dockerfile", "Containerfile", "Containerfile.arm64"} {
		f, name, err := createTemp(root, dir, ".", base)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		untrack(filepath.Join(dir, name))
		if IsDockerfile(filepath.Base(name)) || !strings.HasPrefix(name, ".ecrbase-") || !strings.HasSuffix(name, ".tmp") {
			t.Errorf("temporary file for %s is %s, which discovery would collect", base, name)
		}
	}
	if found, _ := Discover([]string{dir}); len(found) != 0 {
		t.Errorf("Discover = %q, want no temporary file", found)
	}
}

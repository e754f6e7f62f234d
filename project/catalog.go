package project

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"ecrbase/ecr"
	"ecrbase/rewrite"
)

// maxCatalogLine bounds one line of an --images-from file; an image
// reference is at most a few hundred bytes.
const maxCatalogLine = 4096

// ReadCatalog reads the images listed in an --images-from file ("-" is
// stdin): one reference per line, with blank lines and # comments, as a
// platform team keeps its list of approved base images. Every bad line is
// reported as FILE:LINE: reason, and no image of a file with a bad line is
// returned, so a typo never mirrors half a catalogue.
func ReadCatalog(path string, stdin io.Reader, prefixes map[string]string) ([]ecr.Image, error) {
	var r io.Reader = stdin
	display := "<stdin>"
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("reading image list: %w", err)
		}
		defer f.Close()
		r, display = f, path
	}
	return parseCatalog(r, display, prefixes)
}

func parseCatalog(r io.Reader, name string, prefixes map[string]string) ([]ecr.Image, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 512), maxCatalogLine)
	var (
		images []ecr.Image
		errs   []error
		line   int
	)
	for sc.Scan() {
		line++
		text := sc.Text()
		if line == 1 {
			text = strings.TrimPrefix(text, "\ufeff")
		}
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		if strings.ContainsAny(text, " \t") {
			errs = append(errs, fmt.Errorf("%s:%d: %q: one image reference per line", name, line, text))
			continue
		}
		src, repo, err := rewrite.Image(text, prefixes)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %v", name, line, err))
			continue
		}
		images = addImage(images, ecr.Image{Source: src, Repository: repo})
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			err = fmt.Errorf("line longer than %d bytes", maxCatalogLine)
		}
		errs = append(errs, fmt.Errorf("%s:%d: %v", name, line+1, err))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return images, nil
}

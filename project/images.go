package project

import (
	"io"
	"slices"

	"ecrbase/ecr"
	"ecrbase/rewrite"
)

// Images are the images to mirror, each once, in the order found: those
// the files pull (Visit, a visitor for Each), those named one by one (Add)
// and those of catalogues (AddCatalog).
type Images struct {
	// Prefixes override the ECR repository prefix per registry for the
	// images named by reference (the files' own come from their options).
	Prefixes map[string]string
	// List is the images found.
	List []ecr.Image
	// Keep keeps the files visited without error in Good, for a rewrite
	// after the mirror (Rewrite).
	Keep bool
	Good []*File
}

// Visit adds the images a file pulls; a file that failed adds none.
func (im *Images) Visit(f *File) error {
	if f.Err != nil {
		return f.Err
	}
	for _, r := range f.Refs {
		if r.Mirrored() {
			im.add(ecr.Image{Source: r.Upstream, Repository: r.Repository})
		}
	}
	if im.Keep {
		im.Good = append(im.Good, f)
	}
	return nil
}

// Add adds the image a reference names, such as python:3.12.
func (im *Images) Add(ref string) error {
	src, repo, err := rewrite.Image(ref, im.Prefixes)
	if err != nil {
		return err
	}
	im.add(ecr.Image{Source: src, Repository: repo})
	return nil
}

// AddCatalog adds the images listed in a catalogue (see ReadCatalog); with
// a bad line, it adds none.
func (im *Images) AddCatalog(path string, stdin io.Reader) error {
	listed, err := ReadCatalog(path, stdin, im.Prefixes)
	if err != nil {
		return err
	}
	for _, img := range listed {
		im.add(img)
	}
	return nil
}

func (im *Images) add(img ecr.Image) { im.List = addImage(im.List, img) }

func addImage(images []ecr.Image, img ecr.Image) []ecr.Image {
	if slices.Contains(images, img) {
		return images
	}
	return append(images, img)
}

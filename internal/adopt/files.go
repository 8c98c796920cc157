package adopt

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ExistingFilesError is WriteFiles refusing to overwrite files.
type ExistingFilesError struct {
	Dir   string
	Files []string
}

func (e *ExistingFilesError) Error() string {
	return fmt.Sprintf("%s already holds %s; refusing to overwrite (use --force, or another --out)", e.Dir, strings.Join(e.Files, ", "))
}

// WriteFiles writes files (name -> content) into dir, creating it. Unless force, it
// writes nothing when any of the files exists, and says which; with force, it also
// removes the files of an earlier run (OutputFiles and the reports) it does not
// write this time. Each file is written
// to a temporary name and renamed, so a file is either complete or absent.
func WriteFiles(dir string, files map[string][]byte, force bool) error {
	names := make([]string, 0, len(files))
	for name := range files {
		if name != filepath.Base(name) || name == "." || name == ".." {
			return fmt.Errorf("internal error: output file name %q is not a plain name", name)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := CheckWritable(dir, names, force); err != nil {
		return err
	}
	if force {
		// Files of an earlier run that this one does not write would otherwise mix
		// with the new ones (a stacks.tf of stacks since deleted, say).
		for _, name := range append(OutputFiles(), FileReportMarkdown, FileReportJSON) {
			if _, ours := files[name]; !ours {
				if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return err
				}
			}
		}
	}
	for _, name := range names {
		tmp, err := os.CreateTemp(dir, "."+name+".*")
		if err != nil {
			return err
		}
		_, werr := tmp.Write(files[name])
		cerr := tmp.Close()
		if err := errors.Join(werr, cerr); err != nil {
			os.Remove(tmp.Name())
			return fmt.Errorf("writing %s: %w", filepath.Join(dir, name), err)
		}
		if err := os.Chmod(tmp.Name(), 0o644); err != nil {
			os.Remove(tmp.Name())
			return err
		}
		if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
			os.Remove(tmp.Name())
			return err
		}
	}
	return nil
}

// OutputFiles are the names Render may write (the report comes on top).
func OutputFiles() []string {
	return []string{FileVersions, FileVariables, FileIntegrations, FileStacks, FileWebhooks}
}

// CheckWritable fails with *ExistingFilesError when, without force, any of names
// exists in dir; a dir that does not exist yet is fine.
func CheckWritable(dir string, names []string, force bool) error {
	if force {
		return nil
	}
	var existing []string
	for _, name := range names {
		_, err := os.Lstat(filepath.Join(dir, name))
		switch {
		case err == nil:
			existing = append(existing, name)
		case !errors.Is(err, fs.ErrNotExist):
			return err
		}
	}
	if len(existing) > 0 {
		sort.Strings(existing)
		return &ExistingFilesError{Dir: dir, Files: existing}
	}
	return nil
}

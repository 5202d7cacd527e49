//go:build !unix

package pluginhost

import (
	"io/fs"
	"os"
)

func openNoFollow(path string) (*os.File, error) { return os.Open(path) }

// ownerProblem: file ownership is not checked outside Unix.
func ownerProblem(string, fs.FileInfo) string { return "" }

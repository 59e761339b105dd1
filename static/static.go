// Package static holds the assets served under /static, embedded into the
// binary so Warden is a single file to deploy.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"sync"
)

// FS holds the built stylesheet, the vendored htmx and the console's script.
//
//go:embed css js img
var FS embed.FS

var (
	versionsOnce sync.Once
	versions     map[string]string
)

// Version returns a short content hash of the asset at name ("css/app.css"),
// used as a cache-busting query string so assets can be cached for a year.
func Version(name string) string {
	versionsOnce.Do(func() {
		versions = map[string]string{}
		_ = fs.WalkDir(FS, ".", func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := FS.ReadFile(path)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			versions[path] = hex.EncodeToString(sum[:6])
			return nil
		})
	})
	return versions[name]
}

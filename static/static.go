// Package static holds the assets served under /static, embedded into the
// binary so Warden is a single file to deploy.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"path"
	"strings"
)

// FS holds the built stylesheet, the vendored htmx, the console's script
// and the icon.
//
//go:embed css js img
var FS embed.FS

// Asset is an embedded file and the URL it is served under.
type Asset struct {
	Name        string // its path in FS: "css/app.css"
	URL         string // "/static/css/app.3f9c1a2b.css"
	ContentType string
	Body        []byte
}

// The assets by name, hashed once when the program starts: the files are
// in the binary, so they cannot change while it runs.
var byName = index()

func index() map[string]*Asset {
	names := map[string]*Asset{}
	err := fs.WalkDir(FS, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := FS.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ext := path.Ext(name)
		a := &Asset{
			Name:        name,
			URL:         "/static/" + strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:4]) + ext,
			ContentType: mime.TypeByExtension(ext),
			Body:        body,
		}
		names[name] = a
		return nil
	})
	if err != nil {
		panic("static: " + err.Error()) // an embedded file that cannot be read: a broken build
	}
	return names
}

// Path returns the URL of the asset name ("css/app.css"), which contains a
// hash of its content ("/static/css/app.3f9c1a2b.css"): a new build links
// new URLs, so browsers may cache each one for good. It panics for a name
// that is not embedded, a typo that the first render of the page shows.
func Path(name string) string {
	a, ok := byName[name]
	if !ok {
		panic("static: no asset " + name)
	}
	return a.URL
}

// ByURL returns the asset served at url, a URL Path returned.
func ByURL(url string) (*Asset, bool) {
	for _, a := range byName {
		if a.URL == url {
			return a, true
		}
	}
	return nil, false
}

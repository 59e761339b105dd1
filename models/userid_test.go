package models

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDeriveUserID(t *testing.T) {
	cases := map[string]string{
		"Airflow Service User":      "airflow_service_user@service",
		"Café Sync":                 "cafe_sync@service",
		"  Leading and trailing  ":  "leading_and_trailing@service",
		"many   spaces\there":       "many_spaces_here@service",
		"snake__case___name":        "snake_case_name@service",
		"dbt-cloud (prod)":          "dbt-cloud_prod@service",
		"--dashes--":                "dashes@service",
		"_-_mixed-_-":               "mixed@service",
		"Straße Größe":              "strasse_grosse@service",
		"Ærø Łódź":                  "aero_lodz@service",
		"ＦＵＬＬ　ｗｉｄｔｈ":                "full_width@service",
		"v2.0/beta!":                "v20beta@service",
		"already_derived@service":   "already_derived@service",
		"Üñíçødé":                   "unicode@service",
		"名前 bot":                    "bot@service",
		"<script>alert(1)</script>": "scriptalert1script@service",
		"a":                         "a@service",
		"___":                       "",
		"!!!":                       "",
		"名前":                        "",
		"":                          "",
		"@service":                  "",
		"x@service@service":         "xservice@service",
	}
	for in, want := range cases {
		if got := DeriveUserID(in); got != want {
			t.Errorf("DeriveUserID(%q) = %q; want %q", in, got, want)
		}
	}
}

var userIDShape = regexp.MustCompile(`^[a-z0-9]([a-z0-9_-]*[a-z0-9])?@service$`)

func FuzzDeriveUserID(f *testing.F) {
	for _, s := range []string{"Airflow Service User", "Café Sync", "_-_", "a@service", "x@service@service", "Ærø", "\u0301a", "a_-_b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		id := DeriveUserID(name)
		if id == "" {
			return
		}
		if !userIDShape.MatchString(id) || strings.Contains(id, "__") {
			t.Fatalf("DeriveUserID(%q) = %q, which is not a clean user_id", name, id)
		}
		if again := DeriveUserID(id); again != id {
			t.Fatalf("not idempotent: f(%q) = %q, f(f(x)) = %q", name, id, again)
		}
		if !utf8.ValidString(id) {
			t.Fatalf("invalid UTF-8 from %q", name)
		}
	})
}

package database

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzParse: any string parses or fails without a panic, and neither the
// error nor the location's printable form quotes a password the string
// holds.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "c.db", "sqlite:", "sqlite:/x.db", "sqlite:///x.db", "postgres://u:pw@h/db",
		"postgresql://u@h/db?password=pw&sslmode=disable", "mysql://u:pw@h/db", "postgres://u:50%off@h/db", "./a://b", "POSTGRES://U:PW@H/D"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		loc, err := Parse(s, "/default.db")
		pw := ""
		if u, perr := url.Parse(strings.TrimSpace(s)); perr == nil {
			if p, ok := u.User.Password(); ok {
				pw = p
			} else {
				pw = u.Query().Get("password")
			}
		}
		if len(pw) < 3 || strings.Contains("postgresql://xxxxx@/", pw) || strings.Count(s, pw) > 1 {
			return // also elsewhere in the URL (its user, its host): cannot tell
		}
		if err != nil && strings.Contains(err.Error(), pw) {
			t.Fatalf("Parse(%q) error quotes the password: %v", s, err)
		}
		if err == nil && loc.Kind == Postgres && strings.Contains(loc.String(), pw) {
			t.Fatalf("Parse(%q).String() = %q quotes the password", s, loc.String())
		}
	})
}

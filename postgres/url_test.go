package postgres

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestIsURL(t *testing.T) {
	for s, want := range map[string]bool{
		"postgres://u@h/db":        true,
		"postgresql://u:p@h:5432/": true,
		"POSTGRES://h/db":          true,
		"sqlite:/tmp/x.db":         false,
		"/home/u/.closecast/c.db":  false,
		"postgres:/h":              false,
		"":                         false,
	} {
		if got := IsURL(s); got != want {
			t.Errorf("IsURL(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://app:s3cret@db.example.com:5432/closecast?sslmode=require": "postgres://app:xxxxx@db.example.com:5432/closecast?sslmode=require",
		"postgresql://app@db/closecast?password=s3cret&sslmode=disable":       "postgresql://app@db/closecast?password=xxxxx&sslmode=disable",
		"postgres://app@db/closecast":                                         "postgres://app@db/closecast",
		"postgres://app:p%40ss@db/c":                                          "postgres://app:xxxxx@db/c",
		// Unparsable (a bare % in the password): the secret is cut anyway.
		"postgres://app:50%off@db/c": "postgres://app:xxxxx@db/c",
	} {
		got := Redact(in)
		if got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzRedact checks that no password survives Redact, whatever the URL.
func FuzzRedact(f *testing.F) {
	for _, s := range []string{"postgres://u:pw@h/db", "postgres://u:p@w@h/db?password=x", "postgres://u:%zz@h", "postgres://:pw@h", "x?password=pw&a=b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		const secret = "Zq7secretZq7"
		for _, u := range []string{
			"postgres://user:" + secret + "@" + s,
			"postgres://" + s + ":" + secret + "@host/db",
			"postgres://host/db?" + s + "&password=" + secret,
		} {
			if strings.Contains(u[:strings.Index(u, secret)], "@") && !strings.HasPrefix(u, "postgres://host") {
				continue // the fuzzed part put an @ before the secret: it is not a password
			}
			if got := Redact(u); strings.Contains(got, secret) {
				t.Fatalf("Redact(%q) = %q keeps the password", u, got)
			}
		}
	})
}

// TestErrorsNeverShowThePassword opens URLs that fail to parse and to
// connect: neither error may contain the password.
func TestErrorsNeverShowThePassword(t *testing.T) {
	const secret = "Zq7secretZq7"
	for _, u := range []string{
		"postgres://app:" + secret + "@127.0.0.1:1/closecast?connect_timeout=1",
		"postgres://app:" + secret + "@127.0.0.1:notaport/closecast",
		"postgres://app@127.0.0.1:1/closecast?password=" + secret + "&pool_max_conns=zero",
		"mysql://app:" + secret + "@127.0.0.1/closecast",
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		db, err := Open(ctx, u, Options{ConnectTimeout: time.Second})
		cancel()
		if err == nil {
			db.Close()
			t.Fatalf("Open(%s) succeeded", Redact(u))
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("the error of Open(%s) shows the password: %v", Redact(u), err)
		}
		if !strings.Contains(err.Error(), "127.0.0.1") {
			t.Errorf("the error of Open(%s) does not say which database: %v", Redact(u), err)
		}
	}
}

package cli

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/help from the current output")

// TestHelp compares help with golden files. The files were printed by knack's CLIHelp (knack/help.py, the
// help az uses) for an equivalent knack program; rewrite them with -update only after checking a change
// against knack.
func TestHelp(t *testing.T) {
	tests := []struct {
		golden string
		args   []string
	}{
		{"root", []string{"-h"}},
		{"ad", []string{"ad", "-h"}},
		{"ad_user", []string{"ad", "user", "--help"}},
		{"ad_user_create", []string{"ad", "user", "create", "-h"}},
		{"webapp_run", []string{"webapp", "run", "--name", "x", "-h"}},
	}
	a := fixture()
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			code, stdout, stderr := run(a, tt.args...)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			path := filepath.Join("testdata", "help", tt.golden+".txt")
			if *update {
				if err := os.WriteFile(path, []byte(stdout), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if stdout != string(want) {
				t.Errorf("got:\n%s\nwant:\n%s", stdout, want)
			}
		})
	}
}

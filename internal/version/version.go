// Package version says which keyhaven this is.
package version

import "runtime/debug"

// Version is set at build time with -ldflags "-X github.com/keyhaven/keyhaven/internal/version.Version=v1.2.3";
// otherwise it comes from the module's build info, or "dev".
var Version = ""

// String returns the version.
func String() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

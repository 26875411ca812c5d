// Package e2e holds keyhaven's end-to-end tests: a real server (internal/testenv) driven by the real Azure SDKs
// and by plain HTTP, as clients would use it.
package e2e

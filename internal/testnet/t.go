package testnet

// T is what the harness needs of a test: *testing.T and *testing.B satisfy it, and so can a
// program that builds a topology outside a test (p2sgw demo). Fatal and Fatalf must not
// return (a test's call runtime.Goexit; a program's exit or panic).
type T interface {
	Helper()
	Cleanup(func())
	TempDir() string
	Failed() bool
	Logf(format string, args ...any)
	Error(args ...any)
	Errorf(format string, args ...any)
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Skip(args ...any)
}

package main

import (
	"context"
	"os"
	"testing"
)

// TestMain lets the test binary stand in for p2sgw: the network demo starts `p2sgw serve` as
// a child process with os.Executable(), which under `go test` is this binary.
func TestMain(m *testing.M) {
	if os.Getenv("P2SGW_TEST_AS_P2SGW") == "1" {
		env := &cmdEnv{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
		os.Exit(run(context.Background(), env, os.Args[1:]))
	}
	os.Exit(m.Run())
}

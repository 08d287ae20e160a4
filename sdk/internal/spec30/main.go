// Command spec30 writes a view of api/openapi.yaml (OpenAPI 3.1) that
// oapi-codegen can read (OpenAPI 3.0), for the SDK's code generation only:
// the served and checked contract stays the 3.1 file.
//
//	go run ./sdk/internal/spec30 api/openapi.yaml > openapi30.json
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: spec30 api/openapi.yaml > openapi30.json")
		os.Exit(2)
	}
	in, err := os.ReadFile(os.Args[1])
	if err == nil {
		var out []byte
		if out, err = Convert(in); err == nil {
			_, err = os.Stdout.Write(out)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "spec30:", err)
		os.Exit(1)
	}
}

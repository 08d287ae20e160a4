package outbox

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// startCalls are the client calls that start or signal a workflow.
var startCalls = map[string]bool{
	"ExecuteWorkflow": true, "SignalWorkflow": true, "SignalWithStartWorkflow": true,
	"UpdateWithStartWorkflow": true, "ExecuteWorkflowUpdate": true,
}

// startAllowed are the directories whose code may make those calls: the
// relay. Activities (activities/), the worker (worker/) and workflows are
// outside the scanned trees; tests may start what they like.
var startAllowed = map[string]bool{
	"internal/outbox": true,
}

// Issue 12 point 6: the outbox is the only way a request starts or signals a
// workflow. Every non-test Go file of the request-serving trees (api/,
// internal/, cmd/) is parsed, and a call of a start or signal method outside
// the relay fails the test, so a request that calls Temporal directly again
// fails make test.
func TestOnlyTheRelayStartsWorkflows(t *testing.T) {
	root := filepath.Join("..", "..")
	var found []string
	scanned := 0
	for _, tree := range []string{"api", "internal", "cmd"} {
		err := filepath.WalkDir(filepath.Join(root, tree), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			if startAllowed[filepath.ToSlash(filepath.Dir(rel))] {
				return nil
			}
			scanned++
			found = append(found, startCallsIn(t, path, rel)...)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if scanned < 50 {
		t.Fatalf("scanned %d files: the trees were not found from %s", scanned, root)
	}
	for _, f := range found {
		t.Errorf("%s: a request path calls Temporal directly; write an outbox row (outbox.Enqueue/EnqueueSignal) in the business transaction instead", f)
	}
}

// startCallsIn lists the start or signal calls of one file, as file:line name.
func startCallsIn(t *testing.T, path, rel string) []string {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	ast.Inspect(file, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		if sel, ok := call.Fun.(*ast.SelectorExpr); ok && startCalls[sel.Sel.Name] {
			found = append(found, fmt.Sprintf("%s:%d %s", rel, fset.Position(call.Pos()).Line, sel.Sel.Name))
		}
		return true
	})
	return found
}

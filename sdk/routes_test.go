package officex

import (
	"slices"
	"strings"
	"testing"

	"github.com/officex/officex/api"
)

// The retry policy's route lists follow api/openapi.yaml: keyedRoutes are
// exactly the operations whose body takes an idempotency_key, and every
// other listed route exists.
func TestRoutes_FollowTheSpec(t *testing.T) {
	doc, err := api.LoadOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	var keyed []route
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.RequestBody == nil || op.RequestBody.Value.Content.Get("application/json") == nil {
				continue
			}
			if s := op.RequestBody.Value.Content.Get("application/json").Schema; s != nil && s.Value.Properties["idempotency_key"] != nil {
				keyed = append(keyed, route{method, path})
			}
		}
	}
	byPattern := func(a, b route) int { return strings.Compare(a.method+a.pattern, b.method+b.pattern) }
	slices.SortFunc(keyed, byPattern)
	want := slices.SortedFunc(slices.Values(keyedRoutes), byPattern)
	if !slices.Equal(keyed, want) {
		t.Errorf("routes with idempotency_key in the spec: %v; keyedRoutes: %v", keyed, want)
	}
	for _, r := range slices.Concat(dedupedRoutes, settleRoutes) {
		if item := doc.Paths.Find(r.pattern); item == nil || item.GetOperation(r.method) == nil {
			t.Errorf("%s %s is not in the spec", r.method, r.pattern)
		}
	}
}

package worker

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/api/operatorservice/v1"
	tclient "go.temporal.io/sdk/client"
)

// CheckSearchAttributes fails when the namespace lacks one of required
// (name to type, e.g. workflows.RequiredSearchAttributes): every start that
// sets a missing one is refused by the server, so the worker says so at
// start, with the commands that create them.
func CheckSearchAttributes(ctx context.Context, c tclient.Client, namespace string, required map[string]string) error {
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list Temporal search attributes: %w", err)
	}
	var missing []string
	for name, typ := range required {
		if _, ok := resp.GetCustomAttributes()[name]; !ok {
			missing = append(missing, fmt.Sprintf("  temporal operator search-attribute create --namespace %s --name %s --type %s",
				namespace, name, typ))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	slices.Sort(missing)
	return fmt.Errorf("the Temporal namespace %s lacks %d search attributes the workflows set; create them "+
		"(additive and safe on a running server; make dev and make test do it through scripts/stack.sh):\n%s",
		namespace, len(missing), strings.Join(missing, "\n"))
}

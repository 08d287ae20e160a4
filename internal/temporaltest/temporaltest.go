// Package temporaltest holds helpers for tests that run workflows in the
// SDK's test suite. It is imported only by tests and holds no domain logic.
package temporaltest

import (
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/workflow"
)

// SuiteUnlimitedAttempts is the attempt limit UnlimitedRetries gives an
// activity whose retry policy has none.
const SuiteUnlimitedAttempts = 1000

// UnlimitedRetries makes the test suite retry like the Temporal server. The
// suite caps an activity with MaximumAttempts 0 (unlimited on the server) at
// 10 attempts; this interceptor gives such an activity SuiteUnlimitedAttempts
// instead, so a test can fail it more often than any finite policy in the
// code allows. Policies with a limit are left as they are. Install it with
// env.SetWorkerOptions(worker.Options{Interceptors: ...}).
type UnlimitedRetries struct {
	interceptor.WorkerInterceptorBase
}

// InterceptWorkflow wraps each workflow's outbound calls.
func (*UnlimitedRetries) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &inbound{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}}
}

type inbound struct {
	interceptor.WorkflowInboundInterceptorBase
}

func (i *inbound) Init(out interceptor.WorkflowOutboundInterceptor) error {
	return i.Next.Init(&outbound{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: out}})
}

type outbound struct {
	interceptor.WorkflowOutboundInterceptorBase
}

func (o *outbound) ExecuteActivity(ctx workflow.Context, activityType string, args ...any) workflow.Future {
	opts := workflow.GetActivityOptions(ctx)
	if opts.RetryPolicy != nil && opts.RetryPolicy.MaximumAttempts == 0 {
		rp := *opts.RetryPolicy
		rp.MaximumAttempts = SuiteUnlimitedAttempts
		opts.RetryPolicy = &rp
		ctx = workflow.WithActivityOptions(ctx, opts)
	}
	return o.Next.ExecuteActivity(ctx, activityType, args...)
}

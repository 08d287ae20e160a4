// Package workflows holds OfficeX's Temporal workflow definitions: their IDs,
// inputs and results, signal and update names. Deterministic code only: no
// clock, no I/O, no ranging over maps for output; side effects are activities.
//
// Versioning (issue 12 point 9). Workflows run for up to weeks (a
// reservation's timeout, a payout batch, a bank payout) and a worker replays
// a running workflow's history on whatever code it runs, so a deploy must
// never change the commands an existing history recorded. The rule:
//
//   - Patch with workflow.GetVersion, not Worker Versioning (build ids):
//     one task queue, one binary, rolling deploys. A change to what a
//     workflow does (an activity added, removed, reordered or renamed, a
//     timer, a child, a signal wait, a retry policy or timeout that changes
//     scheduling) goes behind workflow.GetVersion(ctx, changeID,
//     workflow.DefaultVersion, N): the old branch stays for histories made
//     before, the new one is taken by new runs. Changes that only touch
//     activity code, or pure computation that issues the same commands, need
//     no version.
//   - Change ids are constants next to the workflow, named after the change
//     (usually the issue point: "issue12-4-cancel-payment-before-fail"),
//     never reused, never renamed. A branch may be deleted only once no
//     history older than the change can still be running (the longest
//     timeout of that workflow has passed since the deploy) and its recorded
//     histories are retired with it.
//   - Workflow type names (the *WorkflowName constants), activity method
//     names, signal names and workflow ids are part of recorded histories,
//     of running workflows and of the Schedules' actions: they never change.
//   - Record before you change: every workflow has histories of its real
//     runs in testdata/histories/<workflow>_<version>[_<path>].json, made by
//     the api package's Test*_RecordHistories tests on the real stack
//     (OFFICEX_RECORD_HISTORIES=<version>). Before changing a workflow's
//     commands, record the current behaviour under a new version prefix if
//     testdata has none of it, make the change behind GetVersion, then record
//     again under the next prefix. TestRecordedHistoriesReplay replays every
//     file through today's code with worker.NewWorkflowReplayer, so a change
//     that is not behind GetVersion fails make test.
package workflows

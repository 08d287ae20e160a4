package workflows

import (
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/officex/officex/ledger"
)

// Search attributes of the money workflows, so an operator finds them in the
// Temporal UI by business key ("all failed payouts of a vendor"). The server
// must have them registered (scripts/stack.sh does it for make dev and make
// test; `officex worker` refuses to start without them and prints the
// commands). SearchAttrUserID (OfficexUserId) is shared with ChatRunWorkflow.
var (
	SearchAttrAppID       = temporal.NewSearchAttributeKeyKeyword("OfficexAppId")
	SearchAttrWalletID    = temporal.NewSearchAttributeKeyKeyword("OfficexWalletId")
	SearchAttrAmountMicro = temporal.NewSearchAttributeKeyInt64("OfficexAmountMicro")
	SearchAttrStatus      = temporal.NewSearchAttributeKeyKeyword("OfficexStatus")
)

// RequiredSearchAttributes are every custom search attribute the workflows
// use, by name and Temporal type (as `temporal operator search-attribute
// create --type` takes it).
var RequiredSearchAttributes = map[string]string{
	"OfficexUserId":      "Keyword",
	"OfficexTracerId":    "Keyword",
	"OfficexAppId":       "Keyword",
	"OfficexWalletId":    "Keyword",
	"OfficexAmountMicro": "Int",
	"OfficexStatus":      "Keyword",
}

// Business is what a money workflow is about; empty fields are left out.
type Business struct {
	UserID, AppID, WalletID string
	AmountMicro             int64 // micro-credits
	Status                  string
	// DestinationType is for the memo only: stripe, bank, usdc_solana, ledger.
	DestinationType string
	// Summary is for the memo only: one readable line of what the flow does
	// ("payout of 500 credits to stripe acct_...", "INSTALL to app notes").
	Summary string
}

// SearchAttributes are b's search attributes, for StartWorkflowOptions or
// ChildWorkflowOptions.TypedSearchAttributes where a start is built.
func SearchAttributes(b Business) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(b.updates()...)
}

// AttributeMap is b's search attributes by name (string values are Keyword
// attributes, int64 ones Int), for an outbox.Start that starts the workflow
// later.
func (b Business) AttributeMap() map[string]any {
	m := map[string]any{}
	for name, v := range map[string]string{SearchAttrUserID.GetName(): b.UserID, SearchAttrAppID.GetName(): b.AppID,
		SearchAttrWalletID.GetName(): b.WalletID, SearchAttrStatus.GetName(): b.Status} {
		if v != "" {
			m[name] = v
		}
	}
	if b.AmountMicro != 0 {
		m[SearchAttrAmountMicro.GetName()] = b.AmountMicro
	}
	return m
}

func (b Business) updates() []temporal.SearchAttributeUpdate {
	var u []temporal.SearchAttributeUpdate
	keywords := []struct {
		key temporal.SearchAttributeKeyKeyword
		v   string
	}{{SearchAttrUserID, b.UserID}, {SearchAttrAppID, b.AppID}, {SearchAttrWalletID, b.WalletID}, {SearchAttrStatus, b.Status}}
	for _, k := range keywords {
		if k.v != "" {
			u = append(u, k.key.ValueSet(k.v))
		}
	}
	if b.AmountMicro != 0 {
		u = append(u, SearchAttrAmountMicro.ValueSet(b.AmountMicro))
	}
	return u
}

// Memo is the business summary the Temporal UI's list shows without opening
// the workflow: the amount in credits (exact, as a decimal string), the
// destination type and a one-line summary, each when known. Never a secret:
// memos are readable in the UI.
func Memo(b Business) map[string]any {
	m := map[string]any{}
	if b.AmountMicro != 0 {
		m["amount_credits"] = ledger.Credits(b.AmountMicro).String()
	}
	if b.DestinationType != "" {
		m["destination_type"] = b.DestinationType
	}
	if b.Summary != "" {
		m["summary"] = b.Summary
	}
	return m
}

// UpsertBusiness sets b's search attributes on the running workflow, behind
// workflow.GetVersion(changeID) so histories recorded before the upsert
// existed replay without it. The version is read once per changeID and
// workflow, so several upserts of one flow can share a changeID.
func UpsertBusiness(ctx workflow.Context, changeID string, b Business) {
	if workflow.GetVersion(ctx, changeID, workflow.DefaultVersion, 1) != 1 {
		return
	}
	// An upsert fails only for an attribute the server does not know, which
	// the worker checks at start; the flow itself must not fail for it.
	if err := workflow.UpsertTypedSearchAttributes(ctx, b.updates()...); err != nil {
		workflow.GetLogger(ctx).Warn("upserting search attributes failed", "error", err.Error())
	}
}

// UpsertBusinessAndMemo is UpsertBusiness plus the memo (Memo(b)), for a flow
// that learns what it is about only from its first activity (a payout its
// batch started knows only its id). Same versioning as UpsertBusiness.
func UpsertBusinessAndMemo(ctx workflow.Context, changeID string, b Business) {
	if workflow.GetVersion(ctx, changeID, workflow.DefaultVersion, 1) != 1 {
		return
	}
	UpsertBusiness(ctx, changeID, b)
	if err := workflow.UpsertMemo(ctx, Memo(b)); err != nil {
		workflow.GetLogger(ctx).Warn("upserting the memo failed", "error", err.Error())
	}
}

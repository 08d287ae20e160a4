package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"

	"github.com/officex/officex/db/dbgen"
	"github.com/officex/officex/internal/console"
	"github.com/officex/officex/internal/payouts"
	"github.com/officex/officex/ledger"
	"github.com/officex/officex/workflows"
)

// Console bounds: months on the treasury charts, payouts per page, payouts
// one form may decide, and the length of an audit filter.
const (
	consoleMonths        = 12
	consolePayoutsPage   = 50
	maxConsoleDecisions  = consolePayoutsPage
	maxConsoleFilterText = 100
)

func (s *Server) consoleTreasury(w http.ResponseWriter, r *http.Request, page console.Page) error {
	rep, err := ledger.GetTreasuryReport(r.Context(), s.pool)
	if err != nil {
		return err
	}
	months, err := ledger.TreasuryHistory(r.Context(), s.pool, time.Now(), consoleMonths)
	if err != nil {
		return err
	}
	liability, paid := make([]console.Point, len(months)), make([]console.Point, len(months))
	for i, m := range months {
		liability[i], paid[i] = console.Point{Label: m.Month, Value: m.Liability}, console.Point{Label: m.Month, Value: m.PaidOut}
	}
	page.Title, page.Nav = "Treasury", "treasury"
	page.Data = map[string]any{"Report": rep, "LiabilityUSD": usd(rep.Liability), "PaidOutUSD": usd(rep.CreditsPaidOut),
		"Months":    consoleMonths,
		"Liability": console.LineChart("Liability at each month's end (credits)", liability),
		"Payouts":   console.BarChart("Paid out per month (credits)", paid)}
	return console.Render(w, http.StatusOK, "treasury", page)
}

// consolePayout is one row of the payouts page.
type consolePayout struct {
	payouts.Payout
	Vendor, App, Destination, Pays string
	VendorID                       uuid.UUID
	SelfBilling, Pending           bool
	SelfBilled                     ledger.Credits
}

var consolePayoutStatuses = []string{"pending", "burned", "needs_review", "completed", "failed", "rejected"}

// consolePayouts lists payouts of a status (pending by default) with the
// vendor, destination and self-billing flag finance decides on.
func (s *Server) consolePayouts(w http.ResponseWriter, r *http.Request, page console.Page) error {
	status := r.URL.Query().Get("status")
	if status == "" {
		status = "pending"
	}
	_, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	after, afterID := cursorParts(cursor)
	list, err := s.payouts.AdminList(r.Context(), status, "", consolePayoutsPage+1, after, afterID)
	if err != nil {
		return err
	}
	var next string
	if len(list) > consolePayoutsPage {
		last := list[consolePayoutsPage-1]
		next, _ = pagination(len(list), consolePayoutsPage, keysetCursor{Created: last.CreatedAt, ID: last.ID})["next_cursor"].(string)
		list = list[:consolePayoutsPage]
	}
	rows, err := s.consolePayoutRows(r.Context(), list)
	if err != nil {
		return err
	}
	page.Title, page.Nav = "Payouts", "payouts"
	page.Data = map[string]any{"Rows": rows, "Status": status, "Statuses": consolePayoutStatuses,
		"Pending": status == "pending", "Next": next}
	return console.Render(w, http.StatusOK, "payouts", page)
}

// consolePayoutRows adds each payout's vendor email, app name and
// self-billed credits (one look-up per vendor and app on the page).
func (s *Server) consolePayoutRows(ctx context.Context, list []payouts.Payout) ([]consolePayout, error) {
	ids := make([]uuid.UUID, len(list))
	for i, p := range list {
		ids[i] = p.ID
	}
	selfBilled, err := s.payouts.SelfBilled(ctx, ids)
	if err != nil {
		return nil, err
	}
	vendors, appNames := map[uuid.UUID]string{}, map[uuid.UUID]string{}
	rows := make([]consolePayout, len(list))
	for i, p := range list {
		if _, ok := vendors[p.RequestedBy]; !ok {
			vendors[p.RequestedBy] = p.RequestedBy.String()
			if u, err := s.accounts.Get(ctx, p.RequestedBy); err == nil {
				vendors[p.RequestedBy] = u.Email
			}
		}
		if _, ok := appNames[p.AppID]; !ok {
			appNames[p.AppID] = p.AppID.String()
			if a, err := s.apps.Get(ctx, p.AppID.String()); err == nil {
				appNames[p.AppID] = a.Profile.Name
			}
		}
		dest := p.Type + " " + p.Account
		if p.ConnectedAccount != "" {
			dest += " (" + p.ConnectedAccount + ")"
		}
		pays := fmt.Sprintf("$%d.%02d", p.PayoutAmount/100, p.PayoutAmount%100)
		if p.Type == payouts.TypeUSDC {
			pays = fmt.Sprintf("%d USDC units", p.PayoutAmount)
		}
		rows[i] = consolePayout{Payout: p, Vendor: vendors[p.RequestedBy], VendorID: p.RequestedBy, App: appNames[p.AppID],
			Destination: dest, Pays: pays, SelfBilling: selfBilled[p.ID] > 0, SelfBilled: selfBilled[p.ID], Pending: p.Status == "pending"}
	}
	return rows, nil
}

// consoleDecide approves or rejects payouts: one (approve=<id>, reject=<id>
// with reason-<id>) or the selected ones (bulk=approve|reject, id=..., with
// reason). Each goes through payouts.Service, one transaction per payout.
func (s *Server) consoleDecide(w http.ResponseWriter, r *http.Request, _ console.Page) error {
	decision, ids, reason := "approve", []string{r.PostFormValue("approve")}, ""
	switch {
	case r.PostFormValue("reject") != "":
		id := r.PostFormValue("reject")
		decision, ids, reason = "reject", []string{id}, r.PostFormValue("reason-"+id)
	case r.PostFormValue("bulk") != "":
		decision, ids, reason = r.PostFormValue("bulk"), r.PostForm["id"], r.PostFormValue("reason")
	}
	reason = strings.TrimSpace(reason)
	switch {
	case decision != "approve" && decision != "reject", len(ids) == 0 || ids[0] == "":
		return invalid("choose approve or reject and at least one payout")
	case len(ids) > maxConsoleDecisions:
		return invalid("at most %d payouts at once", maxConsoleDecisions)
	case decision == "reject" && (reason == "" || len(reason) > maxReasonLength):
		return invalid("a rejection needs a reason (at most %d characters)", maxReasonLength)
	}
	done, failed := 0, []string{}
	for _, raw := range ids {
		if err := s.decidePayout(r.Context(), decision, raw, reason); err != nil {
			failed = append(failed, raw[:min(len(raw), 8)]+": "+toAPIError(r, err).Message)
			continue
		}
		done++
	}
	verb := map[string]string{"approve": "approved", "reject": "rejected"}[decision]
	flash := fmt.Sprintf("%d payout(s) %s.", done, verb)
	if len(failed) > 0 {
		flash += " Not " + verb + ": " + strings.Join(failed, "; ")
	}
	return s.consoleRedirect(w, r, "/admin/console/payouts", flash)
}

func (s *Server) decidePayout(ctx context.Context, decision, raw, reason string) error {
	id, err := uuid.Parse(raw)
	if err != nil {
		return payouts.ErrNotFound
	}
	if decision == "approve" {
		_, err = s.payouts.Approve(ctx, id)
	} else {
		_, err = s.payouts.Reject(ctx, id, reason)
	}
	return err
}

// consoleBatches shows the run form, and a period's progress when one is
// named (/admin/console/batches/{period}).
func (s *Server) consoleBatches(w http.ResponseWriter, r *http.Request, page console.Page) error {
	data := map[string]any{"Default": workflows.PreviousPeriod(time.Now())}
	if period := mux.Vars(r)["period"]; period != "" {
		if !payouts.ValidPeriod(period) {
			return invalid("period must be YYYY-MM")
		}
		p, err := s.batchProgress(r.Context(), period)
		if err != nil {
			return err
		}
		data = p.view()
		data["Default"] = period
	}
	page.Title, page.Nav, page.Data = "Payout batches", "batches", data
	return console.Render(w, http.StatusOK, "batch", page)
}

// consoleRunBatch asks for the period's batch through the outbox (the relay
// starts it or joins the running one) and shows its progress page; it does
// not wait for the batch.
func (s *Server) consoleRunBatch(w http.ResponseWriter, r *http.Request, _ console.Page) error {
	period := strings.TrimSpace(r.PostFormValue("period"))
	if !payouts.ValidPeriod(period) {
		return invalid("period must be YYYY-MM")
	}
	if _, err := payouts.EnqueueBatchRun(r.Context(), s.pool, s.cfg.TaskQueue, workflows.PayoutBatchInput{
		Period: period, Trigger: "admin", Poll: s.payoutPoll}); err != nil {
		return err
	}
	return s.consoleRedirect(w, r, "/admin/console/batches/"+period, "Batch "+period+" started.")
}

// consoleBatchProgress is what the batch page polls (JSON).
func (s *Server) consoleBatchProgress(w http.ResponseWriter, r *http.Request, _ console.Page) error {
	period := mux.Vars(r)["period"]
	if !payouts.ValidPeriod(period) {
		return invalid("period must be YYYY-MM")
	}
	p, err := s.batchProgress(r.Context(), period)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"state": p.State, "done": p.Done, "total": p.Total, "finished": p.Finished,
		"completed": p.Counts["completed"], "failed": p.Counts["failed"], "other": p.Other})
	return nil
}

// batchView is a period's batch as the console shows it.
type batchView struct {
	Period, WorkflowID, State string
	Done                      bool
	Total, Finished, Other    int
	Counts                    map[string]int
	Summary                   payouts.Batch
}

func (b batchView) view() map[string]any {
	return map[string]any{"Period": b.Period, "WorkflowID": b.WorkflowID, "State": b.State, "Done": b.Done,
		"Total": b.Total, "Finished": b.Finished, "Completed": b.Counts["completed"], "Failed": b.Counts["failed"],
		"Other": b.Other, "Summary": b.Summary}
}

// batchProgress reads the batch's workflow state from Temporal and its
// payouts by status from PostgreSQL.
func (s *Server) batchProgress(ctx context.Context, period string) (batchView, error) {
	b := batchView{Period: period, WorkflowID: workflows.PayoutBatchWorkflowID(period), State: "not started"}
	desc, err := s.temporal.DescribeWorkflowExecution(ctx, b.WorkflowID, "")
	if err == nil {
		st := desc.GetWorkflowExecutionInfo().GetStatus()
		b.State = strings.ToLower(strings.TrimPrefix(st.String(), "WorkflowExecutionStatus"))
		b.Done = st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	} else if !errors.As(err, new(*serviceerror.NotFound)) {
		return b, err
	}
	if b.Counts, err = s.payouts.BatchProgress(ctx, period); err != nil {
		return b, err
	}
	for status, n := range b.Counts {
		b.Total += n
		switch status {
		case "completed", "failed", "rejected":
			b.Finished += n
		case "needs_review":
			b.Finished += n
			b.Other += n
		}
	}
	if b.Done {
		if b.Summary, err = s.payouts.GetBatch(ctx, period); errors.Is(err, payouts.ErrNotFound) {
			err = nil
		}
	}
	return b, err
}

// consoleReconcile runs the invariant check and shows each invariant green
// or red with its violations.
func (s *Server) consoleReconcile(w http.ResponseWriter, r *http.Request, page console.Page) error {
	rep, err := ledger.CheckInvariants(r.Context(), s.pool)
	if err != nil {
		return err
	}
	type row struct {
		Name       string
		OK         bool
		Violations []ledger.Violation
	}
	var rows []row
	for _, name := range ledger.InvariantNames() {
		var vs []ledger.Violation
		for _, v := range rep.Violations {
			if v.Invariant == name {
				vs = append(vs, v)
			}
		}
		rows = append(rows, row{Name: name, OK: len(vs) == 0, Violations: vs})
	}
	page.Title, page.Nav = "Reconcile", "reconcile"
	page.Data = map[string]any{"Report": rep, "Rows": rows, "At": time.Now()}
	return console.Render(w, http.StatusOK, "reconcile", page)
}

// consoleAudit lists admin actions and money movements, filtered by actor,
// action prefix (payout., ledger.adjust) and target id.
func (s *Server) consoleAudit(w http.ResponseWriter, r *http.Request, page console.Page) error {
	_, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	filter := func(name string) (*string, error) {
		v := strings.TrimSpace(q.Get(name))
		if len(v) > maxConsoleFilterText {
			return nil, invalid("%s: at most %d characters", name, maxConsoleFilterText)
		}
		if v == "" {
			return nil, nil
		}
		return &v, nil
	}
	p := dbgen.ListAuditEventsParams{RowLimit: int32(consolePayoutsPage + 1)}
	for name, dst := range map[string]**string{"actor": &p.Actor, "action": &p.ActionPrefix, "target": &p.TargetID} {
		if *dst, err = filter(name); err != nil {
			return err
		}
	}
	if cursor != nil {
		p.AfterCreated, p.AfterID = &cursor.Created, &cursor.Key
	}
	events, err := dbgen.New(s.pool).ListAuditEvents(r.Context(), p)
	if err != nil {
		return err
	}
	var next string
	if len(events) > consolePayoutsPage {
		last := events[consolePayoutsPage-1]
		c, _ := pagination(len(events), consolePayoutsPage, keysetCursor{Created: last.CreatedAt, Key: last.EventID})["next_cursor"].(string)
		nq := url.Values{"actor": {q.Get("actor")}, "action": {q.Get("action")}, "target": {q.Get("target")}, "cursor": {c}}
		next = "/admin/console/audit?" + nq.Encode()
		events = events[:consolePayoutsPage]
	}
	page.Title, page.Nav = "Audit log", "audit"
	page.Data = map[string]any{"Events": events, "Actor": q.Get("actor"), "Action": q.Get("action"), "Target": q.Get("target"), "Next": next}
	return console.Render(w, http.StatusOK, "audit", page)
}

package api

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/officex/officex/internal/payouts"
	"github.com/officex/officex/ledger"
	"github.com/officex/officex/workflows"
)

// requestPayout: {wallet_id, amount, destination_id | destination: {type,
// account_id, connected_account_id?}, idempotency_key?}. An inline
// destination is registered on first use (see registerPayoutDestination).
func (s *Server) requestPayout(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		WalletID       string            `json:"wallet_id"`
		Amount         *ledger.Credits   `json:"amount"`
		DestinationID  *string           `json:"destination_id"`
		Destination    *destinationInput `json:"destination"`
		IdempotencyKey *string           `json:"idempotency_key"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.Amount == nil || (body.Destination == nil) == (body.DestinationID == nil) {
		return invalid("amount and one of destination_id or destination are required")
	}
	wallet, err := uuid.Parse(body.WalletID)
	if err != nil {
		return invalid("wallet_id must be a wallet id")
	}
	req := payouts.Request{WalletID: wallet, Amount: *body.Amount}
	if body.DestinationID != nil {
		if req.DestinationID, err = uuid.Parse(*body.DestinationID); err != nil {
			return invalid("destination_id must be a payout destination id")
		}
	} else {
		if err := body.Destination.check(); err != nil {
			return err
		}
		req.Type, req.Account, req.ConnectedAccount = body.Destination.Type, body.Destination.AccountID, body.Destination.ConnectedAccountID
	}
	if body.IdempotencyKey != nil {
		if *body.IdempotencyKey == "" {
			return invalid("idempotency_key must not be empty")
		}
		req.IdempotencyKey = *body.IdempotencyKey
	}
	p, err := s.payouts.Request(r.Context(), currentUser(r).ID, req)
	if err != nil {
		return err
	}
	ok(w, map[string]any{"payout_id": p.ID, "status": p.Status, "amount": p.Amount})
	return nil
}

func payoutBody(p payouts.Payout, history []payouts.Event) map[string]any {
	body := map[string]any{"payout_id": p.ID, "app_id": p.AppID, "wallet_id": p.WalletID, "amount": p.Amount,
		"destination":    map[string]any{"type": p.Type, "account_id": p.Account, "connected_account_id": p.ConnectedAccount},
		"destination_id": p.DestinationID,
		"payout_amount":  p.PayoutAmount, "payout_unit": map[bool]string{true: "usdc_base_units", false: "usd_cents"}[p.Type == payouts.TypeUSDC],
		"status": p.Status, "approved": p.Approved, "batch_id": p.BatchID, "external_ref": p.ExternalRef,
		"failure_reason": p.FailureReason, "created_at": p.CreatedAt, "updated_at": p.UpdatedAt}
	if history != nil {
		hist := make([]map[string]any, len(history))
		for i, e := range history {
			hist[i] = map[string]any{"status": e.Status, "detail": e.Detail, "at": e.At}
		}
		body["history"] = hist
	}
	return body
}

func (s *Server) walletPayouts(w http.ResponseWriter, r *http.Request) error {
	wl, err := s.ownWallet(r)
	if err != nil {
		return err
	}
	limit, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	after, afterID := cursorParts(cursor)
	list, err := s.payouts.ListWallet(r.Context(), wl.ID, limit+1, after, afterID)
	if err != nil {
		return err
	}
	return s.writePayouts(w, r, list, limit, false)
}

// adminFields adds what only finance sees: the Stripe object id, the
// alert (internal error text, never shown to vendors) and whether the vendor
// paid its own app (selfBilled credits, from payouts.Service.SelfBilled).
func adminFields(body map[string]any, p payouts.Payout, selfBilled map[uuid.UUID]ledger.Credits) {
	body["stripe_id"], body["alert"], body["alert_at"] = p.StripeID, p.Alert, p.AlertAt
	body["transfer_id"], body["bank_status"] = p.TransferID, p.BankStatus
	body["self_billing"], body["self_billed_amount"] = selfBilled[p.ID] > 0, selfBilled[p.ID]
}

func (s *Server) writePayouts(w http.ResponseWriter, r *http.Request, list []payouts.Payout, limit int, admin bool) error {
	var selfBilled map[uuid.UUID]ledger.Credits
	if admin {
		ids := make([]uuid.UUID, len(list))
		for i, p := range list {
			ids[i] = p.ID
		}
		var err error
		if selfBilled, err = s.payouts.SelfBilled(r.Context(), ids); err != nil {
			return err
		}
	}
	return writePage(w, "payouts", list, limit,
		noErr(func(p payouts.Payout) map[string]any {
			body := payoutBody(p, nil)
			if admin {
				adminFields(body, p, selfBilled)
			}
			return body
		}),
		func(p payouts.Payout) keysetCursor { return keysetCursor{Created: p.CreatedAt, ID: p.ID} })
}

func (s *Server) walletPayout(w http.ResponseWriter, r *http.Request) error {
	wl, err := s.ownWallet(r)
	if err != nil {
		return err
	}
	id, err := pathUUID(r, "payout_id", payouts.ErrNotFound)
	if err != nil {
		return err
	}
	p, err := s.payouts.Get(r.Context(), id)
	if err != nil {
		return err
	}
	if p.WalletID != wl.ID {
		return payouts.ErrNotFound
	}
	return s.writePayout(w, r, p, false)
}

// writePayout answers a payout with its history (adminFields for finance).
func (s *Server) writePayout(w http.ResponseWriter, r *http.Request, p payouts.Payout, admin bool) error {
	history, err := s.payouts.History(r.Context(), p.ID)
	if err != nil {
		return err
	}
	body := payoutBody(p, history)
	if admin {
		selfBilled, err := s.payouts.SelfBilled(r.Context(), []uuid.UUID{p.ID})
		if err != nil {
			return err
		}
		adminFields(body, p, selfBilled)
	}
	ok(w, map[string]any{"payout": body})
	return nil
}

// adminListPayouts: ?status=&period=YYYY-MM&limit=&cursor=.
func (s *Server) adminListPayouts(w http.ResponseWriter, r *http.Request) error {
	limit, cursor, err := pageParams(r)
	if err != nil {
		return err
	}
	after, afterID := cursorParts(cursor)
	list, err := s.payouts.AdminList(r.Context(), r.URL.Query().Get("status"), r.URL.Query().Get("period"), limit+1, after, afterID)
	if err != nil {
		return err
	}
	return s.writePayouts(w, r, list, limit, true)
}

func (s *Server) adminGetPayout(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id", payouts.ErrNotFound)
	if err != nil {
		return err
	}
	p, err := s.payouts.Get(r.Context(), id)
	if err != nil {
		return err
	}
	return s.writePayout(w, r, p, true)
}

// adminReviewPayout decides on a payout in review: {decision: paid,
// stripe_id} (found in Stripe: it is read, nothing created), {decision:
// not_paid} (Stripe has nothing: the next run may create it), or {decision:
// fail, reason} (credits restored). paid and not_paid finish on the next
// batch run of the payout's period.
func (s *Server) adminReviewPayout(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id", payouts.ErrNotFound)
	if err != nil {
		return err
	}
	var body struct {
		Decision string `json:"decision"`
		StripeID string `json:"stripe_id"`
		Reason   string `json:"reason"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	if len(body.Reason) > maxReasonLength {
		return invalid("reason must be at most %d characters", maxReasonLength)
	}
	p, err := s.payouts.Review(r.Context(), id, body.Decision, body.StripeID, body.Reason)
	if err != nil {
		return err
	}
	ok(w, map[string]any{"payout": payoutBody(p, nil)})
	return nil
}

func (s *Server) adminApprovePayout(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id", payouts.ErrNotFound)
	if err != nil {
		return err
	}
	p, err := s.payouts.Approve(r.Context(), id)
	if err != nil {
		return err
	}
	ok(w, map[string]any{"payout": payoutBody(p, nil)})
	return nil
}

func (s *Server) adminRejectPayout(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id", payouts.ErrNotFound)
	if err != nil {
		return err
	}
	var body struct {
		Reason string `json:"reason"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.Reason == "" || len(body.Reason) > maxReasonLength {
		return invalid("reason is required (at most %d characters)", maxReasonLength)
	}
	p, err := s.payouts.Reject(r.Context(), id, body.Reason)
	if err != nil {
		return err
	}
	ok(w, map[string]any{"payout": payoutBody(p, nil)})
	return nil
}

// batchWait bounds how long finance's request waits for the batch to finish.
const batchWait = 30 * time.Second

// adminRunBatch starts the period's payout batch now: {period?} (default: the
// month before this one). The start goes through the outbox (the request
// calls no Temporal start itself); it answers the summary when the batch ends
// within batchWait, else 202 with the workflow to watch in the Temporal UI.
func (s *Server) adminRunBatch(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Period string `json:"period"`
	}
	if err := decodeOptional(r, &body); err != nil {
		return err
	}
	if body.Period == "" {
		body.Period = workflows.PreviousPeriod(time.Now())
	}
	if !payouts.ValidPeriod(body.Period) {
		return invalid("period must be YYYY-MM")
	}
	row, err := payouts.EnqueueBatchRun(r.Context(), s.pool, s.cfg.TaskQueue, workflows.PayoutBatchInput{
		Period: body.Period, Trigger: "admin", Poll: s.payoutPoll})
	if err != nil {
		return err
	}
	id := workflows.PayoutBatchWorkflowID(body.Period)
	res, err := s.waitBatch(r, row, body.Period)
	if err != nil {
		okStatus(w, http.StatusAccepted, map[string]any{"period": body.Period, "workflow_id": id, "status": "running"})
		return nil
	}
	ok(w, map[string]any{"period": res.Period, "workflow_id": id, "status": "completed", "payouts": res.Payouts,
		"completed": res.Completed, "failed": res.Failed, "total_credits": res.TotalCredits})
	return nil
}

// waitBatch waits up to batchWait for the relay to start (or join) the
// batch of the outbox row and for that run to end.
func (s *Server) waitBatch(r *http.Request, row int64, period string) (workflows.PayoutBatchResult, error) {
	ctx, cancel := context.WithTimeout(r.Context(), batchWait)
	defer cancel()
	var res workflows.PayoutBatchResult
	run, err := payouts.BatchRun(ctx, s.pool, s.temporal, row, period)
	if err != nil {
		return res, err
	}
	err = run.Get(ctx, &res)
	return res, err
}

func (s *Server) adminGetBatch(w http.ResponseWriter, r *http.Request) error {
	b, err := s.payouts.GetBatch(r.Context(), mux.Vars(r)["period"])
	if err != nil {
		return err
	}
	ok(w, map[string]any{"batch": map[string]any{"batch_id": b.ID, "period": b.Period, "trigger": b.Trigger, "status": b.Status,
		"payouts": b.Payouts, "completed": b.Completed, "failed": b.Failed, "total_credits": b.TotalCredits,
		"started_at": b.StartedAt, "finished_at": b.FinishedAt}})
	return nil
}

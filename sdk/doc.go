// Package officex is the Go SDK of the OfficeX API.
//
// A Client has a typed method for every route of api/openapi.yaml (generated
// into package openapi: c.GetMeWithResponse, c.WalletTransactionsWithResponse,
// ...) and a small hand-written layer for what apps do most: Reserve, Sip,
// Settle and Cancel with exact Credits, retries that never move money twice,
// cursor iteration over lists, and errors that carry the reference's code.
//
//	app, _ := officex.NewClient("https://cloud.officex.app/v1",
//		officex.WithInstallSecret(installID, installSecret))
//	r, err := app.Reserve(ctx, officex.ReserveRequest{Amount: 10 * officex.Credit, JobID: "job-1"})
//	if officex.IsCode(err, officex.CodeInsufficientFunds) { ... }
//	s, err := app.Settle(ctx, r.ReservationID, officex.MustParseCredits("8"))
//
// Webhooks OfficeX sends are verified with package webhook.
package officex

// Package solanatest is an in-process fake of the Solana JSON-RPC methods
// that internal/usdc calls (getLatestBlockhash, getAccountInfo,
// sendTransaction, getSignatureStatuses, getBlockHeight), for tests that
// must prove a payout is paid exactly once.
//
// It is a small ledger, not a mock: every submitted transaction is decoded
// with solana-go and checked for real (signatures, a blockhash the server
// issued and that has not expired, only the programs a USDC payout uses, the
// TransferChecked mint, decimals, owner and destination token account) and
// is refused with a JSON-RPC error otherwise. Accepted transactions run
// against token-account balances: a create-ATA instruction opens the
// recipient's account, a transfer moves the amount, and a failing
// instruction undoes the whole transaction, as on chain.
//
// Time is block height, which only moves by Advance (or AdvancePerCall);
// slots equal heights. A blockhash issued at height h is valid through
// h+BlockhashValidity. A transaction is "confirmed" when it lands and
// "finalized" FinalityDepth blocks later. All commitment levels see the same
// height.
//
// Fault knobs act on the next accepted transactions: DropNext (accepted,
// never lands), DelayNext (lands some blocks later, if still valid then),
// FailNext (lands with an on-chain error, nothing moves).
package solanatest

// Package usdc pays vendors in USDC on Solana: it builds, signs, sends and
// checks SPL-token TransferChecked transactions from the platform's payer
// wallet.
//
// What it owns: turning (destination wallet, amount) into one signed
// transaction whose signature is known before anything is sent, sending that
// exact transaction, and saying where a signature stands (Confirmed, Failed,
// Pending or Expired).
//
// What it must not do: decide to pay. It keeps no state, never retries a
// payout on its own, never re-signs behind the caller's back and never sends
// a transaction that the caller has not first seen (Prepared.Signature). The
// caller (the payout workflow) must
//
//  1. call BuildTransfer and durably store Prepared.Signature (and
//     LastValidBlockHeight) BEFORE calling Send;
//  2. after any error, timeout or crash, call Status on the stored
//     signature; an error from Send proves nothing either way;
//  3. rebuild and re-sign only when Status says Expired: only then can the
//     old transaction never land, so a new one cannot pay twice.
//
// Amounts are USDC base units (6 decimals). Credits convert at $0.01, so one
// credit is 10,000 base units and one base unit is 100 micro-credits; see
// BaseUnitsFromMicroCredits.
package usdc

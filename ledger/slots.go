package ledger

import "sync/atomic"

// An app wallet's available credits are spread over its row and SlotCount
// slot rows (table wallet_slots), so settles into one popular app don't queue
// on one row lock: each credit takes a slot no other transaction holds,
// starting at a round-robin hint. A debit sweeps every slot into the row
// first. The wallet's balance is the row plus its slots, exact at every
// commit; reads use the wallet_balances view.
const SlotCount = 16

var slotHint atomic.Uint32

// NextSlot is where the next credit starts looking for a free slot:
// consecutive settles of one process start at different slots. Billing passes it to its functions (migration 00023).
func NextSlot() int32 { return int32(slotHint.Add(1) % SlotCount) }

// postSQL calls ledger_post (migration 00022): the balance changes and the
// journal transaction of one movement in one statement.
const postSQL = `SELECT * FROM ledger_post($1, $2, $3, $4, $5, $6, $7, $8)`

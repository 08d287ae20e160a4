package solanatest

import (
	"github.com/gagliardetto/solana-go"
)

// plan is what an accepted payout transaction does.
type plan struct {
	create   *createIx // nil: no create-ATA instruction
	transfer *transferIx
	memo     string
}

type createIx struct {
	index       int
	wallet, ata solana.PublicKey
	idempotent  bool
}

type transferIx struct {
	index           int
	src, dst, owner solana.PublicKey
	amount          uint64
}

// complete insists on exactly one transfer, and on a create-ATA (if any)
// that opens the transfer's destination before the transfer runs.
func (p *plan) complete() *rpcError {
	if p.transfer == nil {
		return preflightFailure("no TransferChecked instruction", "InvalidArgument")
	}
	if c := p.create; c != nil && (!c.ata.Equals(p.transfer.dst) || c.index > p.transfer.index) {
		return refuse(c.index, "InvalidArgument", "create-ATA must open the transfer's destination before it")
	}
	return nil
}

type txState int

const (
	stateQueued  txState = iota // accepted, lands at landAt (DelayNext)
	stateDropped                // accepted, never lands (DropNext, or expired while queued)
	stateLanded
)

type txRecord struct {
	sig       solana.Signature
	plan      *plan
	lastValid uint64 // block height past which it cannot land
	landAt    uint64
	forceFail bool // FailNext
	state     txState
	slot      uint64
	txErr     any // on-chain error; nil: success
}

// admit applies the fault knobs to an accepted transaction.
func (s *Server) admit(rec *txRecord) {
	s.txs[rec.sig] = rec
	switch {
	case s.dropNext > 0:
		s.dropNext--
		rec.state = stateDropped
	case s.failNext > 0:
		s.failNext--
		rec.forceFail = true
		s.land(rec)
	case len(s.delays) > 0:
		rec.state, rec.landAt = stateQueued, s.height+s.delays[0]
		s.delays = s.delays[1:]
		s.queue = append(s.queue, rec)
	default:
		s.land(rec)
	}
}

// land puts rec in the current block, unless its blockhash has expired.
func (s *Server) land(rec *txRecord) {
	if s.height > rec.lastValid {
		rec.state = stateDropped
		return
	}
	rec.state, rec.slot = stateLanded, s.height
	if rec.forceFail {
		rec.txErr = ixErr(rec.plan.transfer.index, custom(tokenInsufficientFunds))
		return
	}
	if rec.txErr = s.execute(rec.plan, true); rec.txErr == nil {
		s.record(rec)
	}
}

func (s *Server) record(rec *txRecord) {
	t := rec.plan.transfer
	s.transfers = append(s.transfers, Transfer{
		Signature: rec.sig.String(),
		From:      t.src, FromOwner: t.owner,
		To: t.dst, ToOwner: s.accounts[t.dst].owner,
		Amount: t.amount, CreatedATA: rec.plan.create != nil,
		Memo: rec.plan.memo, Slot: rec.slot,
	})
}

// execute runs p against the token accounts and returns the transaction
// error, or nil. All checks come before any change, so a failing
// transaction changes nothing (as on chain). apply=false only simulates.
func (s *Server) execute(p *plan, apply bool) any {
	opens := false
	if c := p.create; c != nil && s.accounts[c.ata] == nil {
		opens = true
	} else if c != nil && !c.idempotent {
		return ixErr(c.index, custom(systemAccountAlreadyInUse))
	}
	t := p.transfer
	src, dst := s.accounts[t.src], s.accounts[t.dst]
	switch {
	case src == nil, dst == nil && !opens:
		return ixErr(t.index, "InvalidAccountData") // not an open token account
	case !src.owner.Equals(t.owner):
		return ixErr(t.index, custom(tokenOwnerMismatch))
	case src.amount < t.amount:
		return ixErr(t.index, custom(tokenInsufficientFunds))
	case dst != nil && dst.amount+t.amount < dst.amount:
		return ixErr(t.index, custom(tokenOverflow))
	}
	if !apply {
		return nil
	}
	if opens {
		dst = &account{owner: p.create.wallet}
		s.accounts[t.dst] = dst
	}
	src.amount -= t.amount
	dst.amount += t.amount
	return nil
}

// advance adds n blocks, landing queued transactions in the block they are
// due in.
func (s *Server) advance(n uint64) {
	target := s.height + n
	for len(s.queue) > 0 && s.height < target {
		s.height++
		s.landDue()
	}
	s.height = target
}

func (s *Server) landDue() {
	rest := s.queue[:0]
	for _, rec := range s.queue {
		if rec.landAt <= s.height {
			s.land(rec)
		} else {
			rest = append(rest, rec)
		}
	}
	s.queue = rest
}

// ixErr is a TransactionError::InstructionError as JSON-RPC shows it.
func ixErr(index int, err any) any {
	return map[string]any{"InstructionError": []any{index, err}}
}

// custom is InstructionError::Custom(code).
func custom(code int) any { return map[string]any{"Custom": code} }

package solanatest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/programs/token"
	"github.com/mr-tron/base58"
)

// usdcDecimals is the decimals TransferChecked must state for USDC.
const usdcDecimals = 6

// Token program error codes (spl-token TokenError) the checks answer with.
const (
	tokenInsufficientFunds    = 1
	tokenMintMismatch         = 3
	tokenOwnerMismatch        = 4
	tokenOverflow             = 14
	tokenMintDecimalsMismatch = 18
	systemAccountAlreadyInUse = 0 // system program error when creating over an account
)

// Associated-token-account instruction data: Create (also empty data) and
// CreateIdempotent.
const (
	ataCreate           = "\x00"
	ataCreateIdempotent = "\x01"
)

// sendTransaction checks a transaction, simulates it unless skipPreflight,
// and admits it; the answer is its signature.
func (s *Server) sendTransaction(params []json.RawMessage) (any, *rpcError) {
	s.sent++
	sig, err := s.accept(params)
	if err != nil {
		s.rejected = append(s.rejected, err.Message)
		s.t.Logf("solanatest: sendTransaction refused: %s", err.Message)
		return nil, err
	}
	return sig.String(), nil
}

func (s *Server) accept(params []json.RawMessage) (solana.Signature, *rpcError) {
	var encoded string
	if err := param(params, 0, &encoded, true); err != nil {
		return solana.Signature{}, err
	}
	cfg, err := optConfig(params, 1)
	if err != nil {
		return solana.Signature{}, err
	}
	tx, err := decodeTransaction(encoded, cfg.Encoding)
	if err != nil {
		return solana.Signature{}, err
	}
	if err := checkSignatures(tx); err != nil {
		return solana.Signature{}, err
	}
	lastValid, err := s.checkBlockhash(tx)
	if err != nil {
		return solana.Signature{}, err
	}
	sig := tx.Signatures[0]
	if rec := s.txs[sig]; rec != nil {
		return sig, resubmitted(rec)
	}
	p, err := s.plan(tx)
	if err != nil {
		return solana.Signature{}, err
	}
	if !cfg.SkipPreflight {
		if txErr := s.execute(p, false); txErr != nil {
			return solana.Signature{}, preflightFailure(errText(txErr), txErr)
		}
	}
	s.admit(&txRecord{sig: sig, plan: p, lastValid: lastValid})
	return sig, nil
}

// decodeTransaction reads base64 or base58 (Solana's default encoding).
func decodeTransaction(encoded, encoding string) (*solana.Transaction, *rpcError) {
	var raw []byte
	var err error
	switch encoding {
	case "base64":
		raw, err = base64.StdEncoding.DecodeString(encoded)
	case "", "base58":
		raw, err = base58.Decode(encoded)
	default:
		return nil, invalidParams("unsupported encoding %q", encoding)
	}
	if err != nil {
		return nil, invalidParams("invalid %s transaction: %v", encoding, err)
	}
	if len(raw) > MaxTransactionBytes {
		return nil, invalidParams("transaction too large: %d bytes, max %d", len(raw), MaxTransactionBytes)
	}
	tx, err := solana.TransactionFromBytes(raw)
	if err != nil {
		return nil, invalidParams("failed to deserialize transaction: %v", err)
	}
	if len(tx.Message.AddressTableLookups) > 0 {
		return nil, invalidParams("address lookup tables are not supported by solanatest")
	}
	return tx, nil
}

// checkSignatures verifies every required signature over the message.
func checkSignatures(tx *solana.Transaction) *rpcError {
	if len(tx.Signatures) == 0 {
		return &rpcError{Code: codeSignatureFailure, Message: "Transaction signature verification failure: no signatures"}
	}
	if err := tx.VerifySignatures(); err != nil {
		return &rpcError{Code: codeSignatureFailure, Message: "Transaction signature verification failure: " + err.Error()}
	}
	return nil
}

// checkBlockhash accepts only a blockhash this server issued that is still
// valid, and returns its last valid block height.
func (s *Server) checkBlockhash(tx *solana.Transaction) (uint64, *rpcError) {
	lastValid, ok := s.issued[tx.Message.RecentBlockhash]
	if !ok || s.height > lastValid {
		return 0, preflightFailure("Blockhash not found", "BlockhashNotFound")
	}
	return lastValid, nil
}

// resubmitted answers a signature seen before: a node ignores a duplicate
// still in flight, and refuses one that already landed.
func resubmitted(rec *txRecord) *rpcError {
	if rec.state == stateLanded {
		return preflightFailure("This transaction has already been processed", "AlreadyProcessed")
	}
	return nil
}

// plan reads the instructions of a USDC payout: [create ATA], TransferChecked,
// [memo], refusing anything else.
func (s *Server) plan(tx *solana.Transaction) (*plan, *rpcError) {
	p := &plan{}
	for i, ci := range tx.Message.Instructions {
		prog, err := tx.ResolveProgramIDIndex(ci.ProgramIDIndex)
		if err != nil {
			return nil, invalidParams("instruction %d: %v", i, err)
		}
		accts, err := ci.ResolveInstructionAccounts(&tx.Message)
		if err != nil {
			return nil, invalidParams("instruction %d: %v", i, err)
		}
		var rerr *rpcError
		switch prog {
		case solana.SPLAssociatedTokenAccountProgramID:
			rerr = s.planCreate(p, i, accts, ci.Data)
		case solana.TokenProgramID:
			rerr = s.planTransfer(p, i, accts, ci.Data)
		case solana.MemoProgramID:
			rerr = planMemo(p, i, ci.Data)
		default:
			rerr = refuse(i, "UnsupportedProgramId", "program %s is not used by USDC payouts", prog)
		}
		if rerr != nil {
			return nil, rerr
		}
	}
	return p, p.complete()
}

// refuse is a preflight failure of instruction i.
func refuse(i int, txErr any, format string, args ...any) *rpcError {
	return preflightFailure(fmt.Sprintf("instruction %d: ", i)+fmt.Sprintf(format, args...), ixErr(i, txErr))
}

func (s *Server) planCreate(p *plan, i int, accts []*solana.AccountMeta, data []byte) *rpcError {
	if p.create != nil {
		return refuse(i, "InvalidArgument", "second create-ATA instruction")
	}
	if len(accts) < 6 {
		return refuse(i, "NotEnoughAccountKeys", "create-ATA has %d accounts, needs 6", len(accts))
	}
	idempotent, ok := map[string]bool{"": false, ataCreate: false, ataCreateIdempotent: true}[string(data)]
	if !ok {
		return refuse(i, "InvalidInstructionData", "unknown associated-token-account instruction %x", data)
	}
	payer, ata, wallet, mint := accts[0], accts[1], accts[2], accts[3]
	switch {
	case !payer.IsSigner || !payer.IsWritable:
		return refuse(i, "MissingRequiredSignature", "create-ATA funder must sign and be writable")
	case !ata.IsWritable:
		return refuse(i, "InvalidArgument", "create-ATA account must be writable")
	case !mint.PublicKey.Equals(s.mint):
		return refuse(i, "InvalidArgument", "create-ATA mint %s is not the USDC mint %s", mint.PublicKey, s.mint)
	case !accts[4].PublicKey.Equals(solana.SystemProgramID) || !accts[5].PublicKey.Equals(solana.TokenProgramID):
		return refuse(i, "IncorrectProgramId", "create-ATA needs the system and token programs")
	case !ata.PublicKey.Equals(s.ata(wallet.PublicKey)):
		return refuse(i, "InvalidSeeds", "%s is not the associated token account of %s", ata.PublicKey, wallet.PublicKey)
	}
	p.create = &createIx{index: i, wallet: wallet.PublicKey, ata: ata.PublicKey, idempotent: idempotent}
	return nil
}

func (s *Server) planTransfer(p *plan, i int, accts []*solana.AccountMeta, data []byte) *rpcError {
	inst, err := token.DecodeInstruction(accts, data)
	if err != nil {
		return refuse(i, "InvalidInstructionData", "token instruction: %v", err)
	}
	tc, ok := inst.Impl.(*token.TransferChecked)
	if !ok {
		return refuse(i, "InvalidInstructionData", "token instruction %s is not TransferChecked",
			token.InstructionIDToName(inst.TypeID.Uint8()))
	}
	if p.transfer != nil {
		return refuse(i, "InvalidArgument", "second TransferChecked instruction")
	}
	src, mint, dst, owner := tc.Accounts[0], tc.Accounts[1], tc.Accounts[2], tc.Accounts[3]
	switch {
	case len(tc.Signers) > 0:
		return refuse(i, "InvalidArgument", "multisig owners are not supported")
	case !mint.PublicKey.Equals(s.mint):
		return refuse(i, custom(tokenMintMismatch), "TransferChecked mint %s is not the USDC mint %s", mint.PublicKey, s.mint)
	case *tc.Decimals != usdcDecimals:
		return refuse(i, custom(tokenMintDecimalsMismatch), "TransferChecked decimals %d, USDC has %d", *tc.Decimals, usdcDecimals)
	case *tc.Amount == 0:
		return refuse(i, "InvalidArgument", "TransferChecked amount is zero")
	case !owner.IsSigner:
		return refuse(i, "MissingRequiredSignature", "source owner %s did not sign", owner.PublicKey)
	case !src.IsWritable || !dst.IsWritable:
		return refuse(i, "InvalidArgument", "source and destination must be writable")
	}
	p.transfer = &transferIx{index: i, src: src.PublicKey, dst: dst.PublicKey, owner: owner.PublicKey, amount: *tc.Amount}
	return nil
}

func planMemo(p *plan, i int, data []byte) *rpcError {
	if !utf8.Valid(data) {
		return refuse(i, "InvalidInstructionData", "memo is not UTF-8")
	}
	p.memo = string(data)
	return nil
}

// errText renders a transaction error as the JSON a node would show.
func errText(txErr any) string {
	b, err := json.Marshal(txErr)
	if err != nil {
		return fmt.Sprint(txErr)
	}
	return string(b)
}

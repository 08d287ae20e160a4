package solanatest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math"

	bin "github.com/gagliardetto/binary"
	"github.com/gagliardetto/solana-go"
	"github.com/gagliardetto/solana-go/programs/token"
)

// config is the options object that most methods take last.
type config struct {
	Commitment               string `json:"commitment"`
	Encoding                 string `json:"encoding"`
	SearchTransactionHistory bool   `json:"searchTransactionHistory"`
	SkipPreflight            bool   `json:"skipPreflight"`
	PreflightCommitment      string `json:"preflightCommitment"`
}

func (c config) check() *rpcError {
	for _, level := range []string{c.Commitment, c.PreflightCommitment} {
		switch level {
		case "", "processed", "confirmed", "finalized":
		default:
			return invalidParams("unknown commitment %q", level)
		}
	}
	return nil
}

func optConfig(params []json.RawMessage, i int) (config, *rpcError) {
	var c config
	if err := param(params, i, &c, false); err != nil {
		return c, err
	}
	return c, c.check()
}

func (s *Server) context() map[string]any { return map[string]any{"slot": s.height} }

func (s *Server) getBlockHeight(params []json.RawMessage) (any, *rpcError) {
	if _, err := optConfig(params, 0); err != nil {
		return nil, err
	}
	return s.height, nil
}

// getLatestBlockhash issues the current height's blockhash.
func (s *Server) getLatestBlockhash(params []json.RawMessage) (any, *rpcError) {
	if _, err := optConfig(params, 0); err != nil {
		return nil, err
	}
	hash, lastValid := blockhashAt(s.height), s.height+BlockhashValidity
	s.issued[hash] = lastValid
	return map[string]any{
		"context": s.context(),
		"value":   map[string]any{"blockhash": hash.String(), "lastValidBlockHeight": lastValid},
	}, nil
}

// getAccountInfo knows only token accounts of the mint; others are null.
func (s *Server) getAccountInfo(params []json.RawMessage) (any, *rpcError) {
	var addr solana.PublicKey
	if err := param(params, 0, &addr, true); err != nil {
		return nil, err
	}
	cfg, err := optConfig(params, 1)
	if err != nil {
		return nil, err
	}
	if cfg.Encoding != "" && cfg.Encoding != "base64" {
		return nil, invalidParams("solanatest serves only base64 encoding, not %q", cfg.Encoding)
	}
	acc := s.accounts[addr]
	if acc == nil {
		return map[string]any{"context": s.context(), "value": nil}, nil
	}
	data, encErr := s.tokenAccountData(acc)
	if encErr != nil {
		return nil, &rpcError{Code: codeInvalidParams, Message: encErr.Error()}
	}
	return map[string]any{"context": s.context(), "value": map[string]any{
		"data":       []string{base64.StdEncoding.EncodeToString(data), "base64"},
		"executable": false,
		"lamports":   TokenAccountRent,
		"owner":      solana.TokenProgramID.String(),
		"rentEpoch":  uint64(math.MaxUint64), // rent-exempt accounts report u64::MAX
		"space":      len(data),
	}}, nil
}

// tokenAccountData is the SPL token account layout (165 bytes).
func (s *Server) tokenAccountData(acc *account) ([]byte, error) {
	var buf bytes.Buffer
	err := bin.NewBinEncoder(&buf).Encode(token.Account{
		Mint: s.mint, Owner: acc.owner, Amount: acc.amount, State: token.Initialized,
	})
	return buf.Bytes(), err
}

// getSignatureStatuses answers null for signatures that have not landed and,
// without searchTransactionHistory, for ones older than the status cache.
func (s *Server) getSignatureStatuses(params []json.RawMessage) (any, *rpcError) {
	var sigStrs []string
	if err := param(params, 0, &sigStrs, true); err != nil {
		return nil, err
	}
	if len(sigStrs) > MaxStatusSignatures {
		return nil, invalidParams("too many signatures: %d > %d", len(sigStrs), MaxStatusSignatures)
	}
	cfg, err := optConfig(params, 1)
	if err != nil {
		return nil, err
	}
	values := make([]any, len(sigStrs))
	for i, str := range sigStrs {
		sig, perr := solana.SignatureFromBase58(str)
		if perr != nil {
			return nil, invalidParams("signature %q: %v", str, perr)
		}
		values[i] = s.statusOf(sig, cfg.SearchTransactionHistory)
	}
	return map[string]any{"context": s.context(), "value": values}, nil
}

func (s *Server) statusOf(sig solana.Signature, searchHistory bool) any {
	rec := s.txs[sig]
	if rec == nil || rec.state != stateLanded {
		return nil
	}
	age := s.height - rec.slot
	if !searchHistory && age > StatusCacheBlocks {
		return nil
	}
	st := map[string]any{"slot": rec.slot, "err": rec.txErr, "confirmations": age, "confirmationStatus": "confirmed"}
	if age >= FinalityDepth {
		st["confirmations"], st["confirmationStatus"] = nil, "finalized"
	}
	if rec.txErr == nil {
		st["status"] = map[string]any{"Ok": nil}
	} else {
		st["status"] = map[string]any{"Err": rec.txErr}
	}
	return st
}

package usdc

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/gagliardetto/solana-go"
	"github.com/mr-tron/base58"
)

// Errors of ValidateAddress, for callers that map them to user messages.
var (
	ErrEmptyAddress    = errors.New("usdc: address is empty")
	ErrInvalidAddress  = errors.New("usdc: address is not a base58 Solana public key")
	ErrOffCurveAddress = errors.New("usdc: address is off the ed25519 curve (a program-derived or token-account address); give the wallet's owner address")
)

// ValidateAddress reports whether s can receive a payout: a base58 string of
// a 32-byte public key on the ed25519 curve. Off-curve keys are program
// derived addresses, such as the recipient's USDC token account itself:
// paying "to" one would derive a token account nobody can spend from, so
// they are refused.
func ValidateAddress(s string) error {
	if s == "" {
		return ErrEmptyAddress
	}
	pk, err := solana.PublicKeyFromBase58(s)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidAddress, err)
	}
	if !pk.IsOnCurve() {
		return ErrOffCurveAddress
	}
	return nil
}

// ParsePayerKeypair reads the payer's secret key, either as the Solana CLI
// keypair file content (a JSON array of 64 numbers) or as base58 of the same
// 64 bytes. Errors never quote the input: it is a secret.
func ParsePayerKeypair(s string) (solana.PrivateKey, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("usdc: payer keypair is empty")
	}
	var raw []byte
	var err error
	if strings.HasPrefix(s, "[") {
		raw, err = parseJSONKeypair(s)
	} else {
		raw, err = base58.Decode(s)
		if err != nil {
			err = errors.New("usdc: payer keypair is neither a JSON byte array nor base58")
		}
	}
	if err != nil {
		return nil, err
	}
	if err := checkKeypair(raw); err != nil {
		return nil, err
	}
	return solana.PrivateKey(raw), nil
}

// parseJSONKeypair decodes "[12,34,...]"; numbers outside 0..255 are refused
// rather than truncated.
func parseJSONKeypair(s string) ([]byte, error) {
	var nums []int
	if err := json.Unmarshal([]byte(s), &nums); err != nil {
		return nil, errors.New("usdc: payer keypair is not a JSON array of numbers")
	}
	raw := make([]byte, len(nums))
	for i, n := range nums {
		if n < 0 || n > 255 {
			return nil, errors.New("usdc: payer keypair has a number outside 0..255")
		}
		raw[i] = byte(n)
	}
	return raw, nil
}

// checkKeypair insists on seed||public key with the public half matching the
// seed: ed25519 signs with the stored public half, so a mismatched one would
// produce signatures the cluster rejects.
func checkKeypair(raw []byte) error {
	if len(raw) != ed25519.PrivateKeySize {
		return fmt.Errorf("usdc: payer keypair has %d bytes, want %d", len(raw), ed25519.PrivateKeySize)
	}
	want := ed25519.NewKeyFromSeed(raw[:ed25519.SeedSize])
	if !want.Equal(ed25519.PrivateKey(raw)) {
		return errors.New("usdc: payer keypair's public half does not match its secret half")
	}
	return nil
}

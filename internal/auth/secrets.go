// Package auth makes and checks OfficeX credentials: master keys and other
// bearer secrets (random, prefixed, stored only as SHA-256 hashes, compared in
// constant time), passwords (argon2id) and one-time codes (HMAC under a server key). It stores nothing.
package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"math/big"
	"strings"

	"github.com/alexedwards/argon2id"
)

// Prefixes make a leaked secret recognisable to secret scanners and to people.
const (
	MasterKeyPrefix = "ofx_mk_"
	// secretBytes of randomness: 256 bits, beyond any online or offline guessing.
	secretBytes = 32
	// MaxSecretLength bounds what we hash from a header.
	MaxSecretLength = 256
	// DisplayPrefixLength is how much of a key is kept in clear to tell keys apart.
	DisplayPrefixLength = 12
)

// NewSecret returns a fresh random secret with the given prefix.
func NewSecret(prefix string) string {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // the OS has no entropy: nothing is safe
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// Hash is the stored form of a bearer secret.
func Hash(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// MatchAny reports whether secret hashes to one of hashes, comparing every
// candidate in constant time so the answer's timing says nothing.
func MatchAny(secret string, hashes [][]byte) bool {
	if secret == "" || len(secret) > MaxSecretLength {
		return false
	}
	h := Hash(secret)
	match := 0
	for _, cand := range hashes {
		match |= subtle.ConstantTimeCompare(h, cand)
	}
	return match == 1
}

// DisplayPrefix is the part of a key that may be stored and shown in clear.
func DisplayPrefix(secret string) string {
	if len(secret) <= DisplayPrefixLength {
		return secret
	}
	return secret[:DisplayPrefixLength]
}

// Password limits. The upper bound keeps argon2id's input small.
const (
	MinPasswordLength = 10
	MaxPasswordLength = 128
)

// argonParams follow RFC 9106's second recommended option, sized for a
// 2-core API host (64 MiB, 1 pass, 2 lanes).
var argonParams = &argon2id.Params{Memory: 64 * 1024, Iterations: 1, Parallelism: 2, SaltLength: 16, KeyLength: 32}

// HashPassword returns the encoded argon2id hash of password. It is not
// bounded: request paths hash through a PasswordHasher.
func HashPassword(password string) (string, error) {
	return argon2id.CreateHash(password, argonParams)
}

// dummyHash is checked against when no user or password exists, so a login
// for an unknown email costs the same time as one with a wrong password.
var dummyHash, _ = argon2id.CreateHash("officex-dummy-password", argonParams)

// CheckPassword reports whether password matches encoded; an empty encoded
// hash still spends one argon2id computation.
func CheckPassword(password, encoded string) bool {
	if encoded == "" {
		_, _, _ = argon2id.CheckHash(password, dummyHash)
		return false
	}
	ok, _, err := argon2id.CheckHash(password, encoded)
	return err == nil && ok
}

// OTPLength is the number of digits in an emailed one-time code.
const OTPLength = 6

// TestingOTP is the code every one-time code is in testing mode.
const TestingOTP = "0000"

// NewOTP returns a uniformly random numeric code of OTPLength digits.
func NewOTP() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return fmt.Sprintf("%06d", n.Int64())
}

// Labels of the keys derived from OFFICEX_ENCRYPTION_KEY: each use has its
// own key, so a MAC made for one can never stand for another.
const (
	OTPKeyLabel     = "officex/one-time-codes/v1"
	VoucherKeyLabel = "officex/voucher-codes/v1"
)

// DeriveKey derives the key of one use (label) from the master key:
// HMAC-SHA256(master, label).
func DeriveKey(master []byte, label string) []byte {
	return MAC(master, label)
}

// MAC is HMAC-SHA256(key, msg): codes with little entropy (6 digits, a
// voucher) are stored this way, so a database dump without the key yields
// nothing to guess against.
func MAC(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// OTPMAC binds a code to its email and purpose under the code key, so a
// stored MAC is useless for any other account or flow and without the key.
func OTPMAC(key []byte, email, purpose, code string) []byte {
	return MAC(key, strings.ToLower(email)+"\x00"+purpose+"\x00"+code)
}

package auth

import (
	"bytes"
	"strings"
	"testing"
)

func TestNewSecret_IsPrefixedRandomAndMatchesOnlyItsHash(t *testing.T) {
	a, b := NewSecret(MasterKeyPrefix), NewSecret(MasterKeyPrefix)
	if a == b || !strings.HasPrefix(a, MasterKeyPrefix) || len(a) != len(MasterKeyPrefix)+43 {
		t.Fatalf("secrets %q %q", a, b)
	}
	if !MatchAny(a, [][]byte{Hash(b), Hash(a)}) || MatchAny(a, [][]byte{Hash(b)}) || MatchAny("", [][]byte{Hash("")}) {
		t.Fatal("MatchAny")
	}
	if MatchAny(strings.Repeat("x", MaxSecretLength+1), [][]byte{Hash(strings.Repeat("x", MaxSecretLength+1))}) {
		t.Fatal("over-long secrets must never match")
	}
}

func TestPassword_Argon2idRoundTrip(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil || !strings.HasPrefix(h, "$argon2id$") {
		t.Fatalf("hash %q err %v", h, err)
	}
	if !CheckPassword("correct horse", h) || CheckPassword("wrong horse", h) || CheckPassword("correct horse", "") {
		t.Fatal("CheckPassword")
	}
}

func TestOTP_SixDigitsBoundToEmailAndPurpose(t *testing.T) {
	for i := 0; i < 100; i++ {
		if c := NewOTP(); len(c) != OTPLength || strings.Trim(c, "0123456789") != "" {
			t.Fatalf("code %q", c)
		}
	}
	k := DeriveKey([]byte("0123456789abcdef0123456789abcdef"), OTPKeyLabel)
	if bytes.Equal(OTPMAC(k, "a@x.io", "login", "123456"), OTPMAC(k, "a@x.io", "reset_password", "123456")) {
		t.Fatal("a code MAC must depend on its purpose")
	}
	// Without the key, the plain SHA-256 of the same input does not match.
	if bytes.Equal(OTPMAC(k, "a@x.io", "login", "123456"), Hash("a@x.io\x00login\x00123456")) {
		t.Fatal("a code MAC must depend on the key")
	}
	if bytes.Equal(k, DeriveKey([]byte("0123456789abcdef0123456789abcdef"), VoucherKeyLabel)) {
		t.Fatal("each use must have its own derived key")
	}
}

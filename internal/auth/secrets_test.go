package auth

import (
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
	if string(HashOTP("a@x.io", "login", "123456")) == string(HashOTP("a@x.io", "reset_password", "123456")) {
		t.Fatal("a code hash must depend on its purpose")
	}
}

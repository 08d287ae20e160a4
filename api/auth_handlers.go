package api

import (
	"net/http"

	"github.com/officex/officex/internal/accounts"
)

// codeSentMessage is the one answer to every code request, whether or not the
// email has an account, so the answer reveals nothing.
const codeSentMessage = "If the email can receive mail, a code is on its way. It expires in 10 minutes."

type emailBody struct {
	Email string `json:"email"`
}

type emailCodeBody struct {
	Email string `json:"email"`
	Code  string `json:"code"`
}

func credentialsBody(c accounts.Credentials) map[string]any {
	return map[string]any{"api_key": c.APIKey, "user_id": c.UserID, "wallet_id": c.WalletID}
}

// sendsCode makes a handler for the routes that only mail a code.
func sendsCode(send func(r *http.Request, email string) error) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var body emailBody
		if err := decode(r, &body); err != nil {
			return err
		}
		if err := send(r, body.Email); err != nil {
			return err
		}
		ok(w, map[string]any{"message": codeSentMessage})
		return nil
	}
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) error {
	return sendsCode(func(r *http.Request, e string) error { return s.accounts.Register(r.Context(), e) })(w, r)
}

func (s *Server) resend(w http.ResponseWriter, r *http.Request) error {
	return sendsCode(func(r *http.Request, e string) error { return s.accounts.Resend(r.Context(), e) })(w, r)
}

func (s *Server) forgotPassword(w http.ResponseWriter, r *http.Request) error {
	return sendsCode(func(r *http.Request, e string) error { return s.accounts.ForgotPassword(r.Context(), e) })(w, r)
}

// rotateKey mails a rotate_key code. With a valid master key of the account
// named by email, the code goes out whatever the send budget (a signed-in
// owner can always rotate); a master key that does not check out is 401.
func (s *Server) rotateKey(w http.ResponseWriter, r *http.Request) error {
	return sendsCode(func(r *http.Request, e string) error {
		user, signed, err := s.signedInUser(r)
		if err != nil {
			return err
		}
		if email, err := accounts.NormalizeEmail(e); signed && err == nil && email == user.Email {
			return s.accounts.StartKeyRotationSignedIn(r.Context(), user.ID)
		}
		return s.accounts.StartKeyRotation(r.Context(), e)
	})(w, r)
}

// login with a password answers a new key; without one it mails a code.
func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Email    string  `json:"email"`
		Password *string `json:"password"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.Password == nil {
		if err := s.accounts.LoginWithCode(r.Context(), body.Email); err != nil {
			return err
		}
		ok(w, map[string]any{"message": codeSentMessage})
		return nil
	}
	creds, err := s.accounts.LoginWithPassword(r.Context(), body.Email, *body.Password)
	if err != nil {
		return err
	}
	ok(w, credentialsBody(creds))
	return nil
}

func (s *Server) verifyOTP(w http.ResponseWriter, r *http.Request) error {
	var body emailCodeBody
	if err := decode(r, &body); err != nil {
		return err
	}
	creds, err := s.accounts.VerifyOTP(r.Context(), body.Email, body.Code)
	if err != nil {
		return err
	}
	ok(w, credentialsBody(creds))
	return nil
}

func (s *Server) confirmRotateKey(w http.ResponseWriter, r *http.Request) error {
	var body emailCodeBody
	if err := decode(r, &body); err != nil {
		return err
	}
	creds, err := s.accounts.ConfirmKeyRotation(r.Context(), body.Email, body.Code)
	if err != nil {
		return err
	}
	ok(w, credentialsBody(creds))
	return nil
}

func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Email       string `json:"email"`
		Code        string `json:"code"`
		NewPassword string `json:"new_password"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	revoked, err := s.accounts.ResetPassword(r.Context(), body.Email, body.Code, body.NewPassword)
	if err != nil {
		return err
	}
	ok(w, map[string]any{"revoked_master_keys": revoked,
		"message": "password updated; every master key of the account was revoked: sign in again"})
	return nil
}

func (s *Server) setPassword(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Password string `json:"password"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	if err := s.accounts.SetPassword(r.Context(), currentUser(r).ID, body.Password); err != nil {
		return err
	}
	ok(w, map[string]any{"message": "password set"})
	return nil
}

// registerUserLegacy is the reference's legacy route: account and key at once.
// It hands out a key for an address nobody proved, so outside testing mode
// (where every code is 0000 anyway) the route does not exist: 404, as for an
// unknown route, whatever the email.
func (s *Server) registerUserLegacy(w http.ResponseWriter, r *http.Request) error {
	if !s.cfg.TestingMode {
		return errNotFound
	}
	var body emailBody
	if err := decode(r, &body); err != nil {
		return err
	}
	creds, err := s.accounts.RegisterLegacy(r.Context(), body.Email)
	if err != nil {
		return err
	}
	okStatus(w, http.StatusCreated, credentialsBody(creds))
	return nil
}

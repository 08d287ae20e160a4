package stripesim

import (
	"net/http"
	"time"
)

// token is a card token as Stripe's GET /v1/tokens/{id} shows it: retrieving
// it reads the card (and its fingerprint) without using the token up.
type token struct {
	ID       string    `json:"id"`
	Object   string    `json:"object"`
	Type     string    `json:"type"`
	Card     tokenCard `json:"card"`
	ClientIP any       `json:"client_ip"`
	Created  int64     `json:"created"`
	Livemode bool      `json:"livemode"`
	Used     bool      `json:"used"`
}

type tokenCard struct {
	ID          string `json:"id"`
	Object      string `json:"object"`
	Brand       string `json:"brand"`
	Country     string `json:"country"`
	ExpMonth    int    `json:"exp_month"`
	ExpYear     int    `json:"exp_year"`
	Fingerprint string `json:"fingerprint"`
	Funding     string `json:"funding"`
	Last4       string `json:"last4"`
}

// getToken answers a test token tok_<name> with its test card.
func (s *Server) getToken(c *call) reply {
	if e := c.params.rejectUnknown(); e != nil {
		return failure(e)
	}
	card := cardForToken(c.id)
	if card == nil {
		return failure(errNoSuch(http.StatusNotFound, "token", c.id, "token"))
	}
	return ok(&token{ID: c.id, Object: "token", Type: "card", Created: time.Now().Unix(),
		Card: tokenCard{ID: newID("card"), Object: "card", Brand: card.brand, Country: "US", ExpMonth: 12,
			ExpYear: time.Now().Year() + 3, Fingerprint: fingerprint(card), Funding: card.funding, Last4: card.last4}})
}

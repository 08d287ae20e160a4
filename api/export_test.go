package api

import "github.com/gorilla/mux"

// Router is the API's route table for tests (the OpenAPI coverage test walks it).
func Router(d Deps) *mux.Router { return newServer(d).router() }

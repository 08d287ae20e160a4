package api_test

import (
	"net/http/httptest"
	"testing"

	"github.com/officex/officex/api"

	"github.com/officex/officex/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

type depsEdit = api.Deps

// newServer serves the API with edited dependencies for one test.
func newServer(t *testing.T, edit func(*api.Deps)) string {
	t.Helper()
	srv := httptest.NewServer(env.NewHandler(edit))
	t.Cleanup(srv.Close)
	return srv.URL
}

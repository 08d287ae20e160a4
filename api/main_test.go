package api_test

import (
	"testing"

	"github.com/officex/officex/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

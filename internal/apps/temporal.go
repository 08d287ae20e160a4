package apps

import (
	"errors"

	"go.temporal.io/api/serviceerror"
)

func isAlreadyStarted(err error) bool {
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	return errors.As(err, &started)
}

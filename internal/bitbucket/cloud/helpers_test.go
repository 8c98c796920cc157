package cloud

import "errors"

func asErr(err error, target any) bool { return errors.As(err, target) }
func errorsIs(err, target error) bool  { return errors.Is(err, target) }

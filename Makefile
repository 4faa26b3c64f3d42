# The two commands of the README, and the checks CI runs.
.PHONY: demo test check setup

demo:
	scripts/demo.sh

test:
	scripts/test.sh

check:
	scripts/check.sh

setup:
	scripts/setup.sh

#!/bin/sh
# git asks here for credentials: the user is GitHub's token user, the password the token.
case "$1" in Username*) echo x-access-token ;; *) echo "$JUPYTER_EXT_GIT_TOKEN" ;; esac

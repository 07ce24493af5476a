# As %systemd_postun_with_restart: after an upgrade a running site restarts on the new binary
# and resumes from its store.
systemctl daemon-reload >/dev/null 2>&1 || :
if [ "$1" -ge 1 ]; then
    systemctl try-restart wallwatch.service >/dev/null 2>&1 || :
fi

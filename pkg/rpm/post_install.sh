# As %systemd_post: a new unit is known, and enabled where the presets say so; an upgrade
# restarts a running site (post_uninstall), which resumes from its store.
systemctl daemon-reload >/dev/null 2>&1 || :
if [ "$1" -eq 1 ]; then
    systemctl --no-reload preset wallwatch.service >/dev/null 2>&1 || :
fi

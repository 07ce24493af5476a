# As %systemd_preun: the last removal stops and disables the site (it drains first).
if [ "$1" -eq 0 ]; then
    systemctl --no-reload disable --now wallwatch.service >/dev/null 2>&1 || :
fi

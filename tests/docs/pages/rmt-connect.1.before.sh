# rmt-connect(1): rmtd on tapehost declares the virtual tape vt0 (port 5400),
# and another rmtd answers on port 5401 with the tape drive.
rmtd --listen 127.0.0.1:5400 --allow /srv/tapes --drive vt0=/srv/tapes/vt0.tap
rmtd --listen 127.0.0.1:5401 --control none

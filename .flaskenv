FLASK_APP=twitapp

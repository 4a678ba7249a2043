"""HTTP edges: thin blueprints over the same domain and action pipeline."""

from __future__ import annotations

from flask import Flask, render_template

from facilitator.edges.web import auth, join, misc, organisations, plans, workshops


def register_blueprints(app: Flask) -> None:
    app.register_blueprint(auth.bp)
    app.register_blueprint(workshops.bp)
    app.register_blueprint(join.bp)
    app.register_blueprint(misc.bp)
    app.register_blueprint(plans.bp)
    app.register_blueprint(organisations.bp)

    @app.errorhandler(400)
    @app.errorhandler(403)
    @app.errorhandler(404)
    @app.errorhandler(405)
    def http_error(error):  # type: ignore[no-untyped-def]
        return (
            render_template("message.html", title=error.name, message=error.description),
            error.code,
        )

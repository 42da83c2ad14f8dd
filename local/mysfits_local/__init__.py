"""One-machine stand-ins for the AWS parts of Mythical Mysfits, and the command that runs the stack."""


def name_no_version(app, name: str) -> None:
    """Every answer of the aiohttp `app` names the part, never the server software or its version."""

    async def server_header(_request, response) -> None:
        response.headers["Server"] = name

    app.on_response_prepare.append(server_header)

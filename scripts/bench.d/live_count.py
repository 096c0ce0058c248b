"""Prints the live visitor count the demo site's object reports (bench helper)."""
import asyncio, json, sys
import websockets

async def main(port, host, key):
    uri = f"ws://{host}:{port}/api/live?token={key}"
    async with websockets.connect(uri, host="127.0.0.1", port=int(port), open_timeout=30) as ws:
        print(json.loads(await asyncio.wait_for(ws.recv(), 30))["visitors"])

asyncio.run(main(*sys.argv[1:4]))

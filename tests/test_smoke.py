async def test_create_and_read_project(api):
    p = await api.project()
    got = await api.get_project(p["id"])
    assert got["name"] == p["name"]
    assert got["total_investment"] == {"amount": "100000000.00", "currency": "CNY"}

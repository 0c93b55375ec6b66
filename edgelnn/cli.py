import click
@click.group()
def main():
    """edgelnn"""
